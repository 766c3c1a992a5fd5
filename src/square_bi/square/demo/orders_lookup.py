"""``POST /v2/orders/batch-retrieve`` and ``GET /v2/orders/{order_id}``, independent of HTTP.

* BatchRetrieveOrders: ``order_ids`` is required, 1 to 100 ids (400 ``MISSING_REQUIRED_PARAMETER``,
  ``ARRAY_EMPTY``, ``ARRAY_LENGTH_TOO_LONG``); ids that do not exist are simply left out (Square:
  "the ID is ignored instead of generating an error"), so are repeats; the orders come back in
  the order asked; the optional ``location_id`` must be one of the seller's (400
  ``INVALID_VALUE``) and leaves out orders of other locations; ``{}`` when none is found;
* RetrieveOrder: ``{"order": {...}}``, or 404 ``NOT_FOUND`` in Square's error envelope. Order ids
  are case-sensitive.

Orders are served exactly as ``orders/search`` serves them (the same ``json_of``, so injected
malformed orders stay malformed), read from the :class:`~.store.OrderStore` by id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .store import OrderStore
from .wire import Body, SquareRequestError, bad_request

JSONObject = dict[str, Any]

MAX_ORDER_IDS = 100


class OrdersLookup:
    """Orders by id from ``store``, serialised by ``json_of`` (default: the store's JSON)."""

    def __init__(self, store: OrderStore, json_of: Callable[[int], bytes] | None = None) -> None:
        self._store = store
        self._json_of = json_of or store.json

    def upsert(self, order: JSONObject) -> None:
        """Add or replace one order (live data; the store may already hold it)."""
        if self._store.row(order["id"]) is None:
            self._store.put(order)

    def batch(self, body: Body, location_ids: set[str]) -> tuple[bytes, tuple[str, ...]]:
        """The BatchRetrieveOrdersResponse body and the ids of the orders on it."""
        body.reject_unknown(("location_id", "order_ids"))
        location_id = body.string("location_id")
        if location_id is not None and location_id not in location_ids:
            raise bad_request(
                "INVALID_VALUE", f"Location `{location_id}` does not belong to this merchant.", "location_id"
            )
        order_ids = body.strings("order_ids")
        if order_ids is None:
            raise bad_request("MISSING_REQUIRED_PARAMETER", "Missing required parameter `order_ids`.", "order_ids")
        if not order_ids:
            raise bad_request("ARRAY_EMPTY", "`order_ids` must contain at least one order id.", "order_ids")
        if len(order_ids) > MAX_ORDER_IDS:
            raise bad_request(
                "ARRAY_LENGTH_TOO_LONG",
                f"`order_ids` may contain at most {MAX_ORDER_IDS} ids; got {len(order_ids)}.",
                "order_ids",
            )
        store = self._store
        rows = {order_id: store.row(order_id) for order_id in dict.fromkeys(order_ids)}
        found = {
            order_id: row
            for order_id, row in rows.items()
            if row is not None and (location_id is None or store.location_ids[row] == location_id)
        }
        if not found:
            return b"{}", ()
        return b'{"orders":[' + b",".join(map(self._json_of, found.values())) + b"]}", tuple(found)

    def get(self, order_id: str) -> bytes:
        """The RetrieveOrderResponse body; 404 ``NOT_FOUND`` for an unknown id."""
        row = self._store.row(order_id)
        if row is None:
            raise SquareRequestError(404, "NOT_FOUND", f"Could not find order with id `{order_id}`.", field="order_id")
        return b'{"order":' + self._json_of(row) + b"}"
