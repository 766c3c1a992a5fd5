"""``POST /v2/orders/batch-retrieve`` and ``GET /v2/orders/{order_id}``, independent of HTTP.

* BatchRetrieveOrders: ``order_ids`` is required, 1 to 100 ids (400 ``MISSING_REQUIRED_PARAMETER``,
  ``ARRAY_EMPTY``, ``ARRAY_LENGTH_TOO_LONG``); ids that do not exist are simply left out (Square:
  "the ID is ignored instead of generating an error"), so are repeats; the orders come back in
  the order asked; the optional ``location_id`` must be one of the seller's (400
  ``INVALID_VALUE``) and leaves out orders of other locations; ``{}`` when none is found;
* RetrieveOrder: ``{"order": {...}}``, or 404 ``NOT_FOUND`` in Square's error envelope. Order ids
  are case-sensitive.

Orders are served exactly as ``orders/search`` serves them (the same pre-serialised JSON, so
injected malformed orders stay malformed).
"""

from __future__ import annotations

import json
from typing import Any

from .wire import Body, SquareRequestError, bad_request

JSONObject = dict[str, Any]

MAX_ORDER_IDS = 100


class OrdersLookup:
    def __init__(self, orders: list[JSONObject]) -> None:
        self._json = {order["id"]: json.dumps(order, separators=(",", ":")).encode() for order in orders}
        self._location = {order["id"]: order["location_id"] for order in orders}

    def upsert(self, order: JSONObject) -> None:
        """Add or replace one order (live data)."""
        self._json[order["id"]] = json.dumps(order, separators=(",", ":")).encode()
        self._location[order["id"]] = order["location_id"]

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
        found = [
            order_id
            for order_id in dict.fromkeys(order_ids)
            if order_id in self._json and (location_id is None or self._location[order_id] == location_id)
        ]
        if not found:
            return b"{}", ()
        return b'{"orders":[' + b",".join(self._json[order_id] for order_id in found) + b"]}", tuple(found)

    def get(self, order_id: str) -> bytes:
        """The RetrieveOrderResponse body; 404 ``NOT_FOUND`` for an unknown id."""
        found = self._json.get(order_id)
        if found is None:
            raise SquareRequestError(404, "NOT_FOUND", f"Could not find order with id `{order_id}`.", field="order_id")
        return b'{"order":' + found + b"}"
