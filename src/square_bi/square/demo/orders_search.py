"""``POST /v2/orders/search`` semantics, independent of HTTP.

What Square does and the demo mimics:

* ``location_ids`` is required, 1 to 10 ids of the seller's locations;
* ``limit`` defaults to 500, at most 1000; fewer results than ``limit`` may come back;
* ``query.sort`` defaults to ``CREATED_AT`` / ``DESC`` (``sort_order`` alone defaults to DESC);
* ``query.filter.date_time_filter`` holds one time range (``created_at``, ``updated_at`` or
  ``closed_at``), both ends inclusive, and its field must equal the sort field, otherwise 400;
  sorting by ``CLOSED_AT`` while asking for ``OPEN`` or ``DRAFT`` orders is also a 400;
* an omitted ``end_at`` means "the time of the first request of this cursor chain": the demo
  pins it in the cursor, so results appearing later are not picked up by later pages;
* filters are ANDed (states, sources, customers, time range, locations); ``customer_filter``
  matches the order's ``customer_id`` or any tender's, at most 10 ids;
* the response is ``{"orders": [...], "cursor": "..."}``, with ``order_entries`` instead of
  ``orders`` when ``return_entries`` is true, no ``cursor`` on the last page and ``{}`` when
  nothing matches.

Orders are indexed once per sort field (sorted timestamps as integer microseconds plus id as
the tie-breaker, see ``listing.StampedEntries``), so a page costs a ``bisect`` and a walk over at
most the pages it returns. The filters read the columns of the :class:`~.store.OrderStore`; only
the orders on the page are decompressed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .cursors import CursorCodec, CursorState, fingerprint
from .listing import EmptyPagePolicy, PageRequest, StampedEntries, walk_page
from .store import OrderStore
from .timefmt import parse_rfc3339_us
from .wire import Body, bad_request

JSONObject = dict[str, Any]

SORT_FIELDS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "CLOSED_AT": "closed_at"}
SORT_ORDERS = ("DESC", "ASC")
ORDER_STATES = ("OPEN", "COMPLETED", "CANCELED", "DRAFT")
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
MAX_LOCATION_IDS = 10
MAX_CUSTOMER_IDS = 10


@dataclass(frozen=True)
class OrdersQuery:
    """A validated, normalized ``SearchOrdersRequest`` minus paging."""

    location_ids: tuple[str, ...]
    states: tuple[str, ...] | None
    source_names: tuple[str, ...] | None
    sort_field: str
    sort_order: str
    start_us: int | None
    end_us: int | None
    customer_ids: tuple[str, ...] | None = None

    def fingerprint(self) -> str:
        return fingerprint(
            {
                "locations": self.location_ids,
                "states": self.states,
                "sources": self.source_names,
                "customers": self.customer_ids,
                "sort": [self.sort_field, self.sort_order],
                "range": [self.start_us, self.end_us],
            }
        )


@dataclass(frozen=True)
class SearchOrdersRequest:
    query: OrdersQuery
    limit: int
    cursor: str | None
    return_entries: bool


def _time_range(body: Body, key: str) -> tuple[int | None, int | None] | None:
    """The ``(start, end)`` bounds of ``body[key]`` in epoch microseconds; ``None`` if unset."""
    time_range = body.obj(key)
    if time_range is None:
        return None
    time_range.reject_unknown(("start_at", "end_at"))
    bounds: list[int | None] = []
    for end in ("start_at", "end_at"):
        text = time_range.string(end)
        if text is None:
            bounds.append(None)
            continue
        try:
            bounds.append(parse_rfc3339_us(text))
        except ValueError:
            raise bad_request(
                "INVALID_TIME",
                f"`{time_range.field(end)}` must be an RFC 3339 timestamp.",
                time_range.field(end),
            ) from None
    start, end_us = bounds
    if start is not None and end_us is not None and start > end_us:
        raise bad_request("INVALID_TIME_RANGE", "`start_at` must not be after `end_at`.", time_range.path)
    return start, end_us


def _customer_ids(filters: Body) -> list[str] | None:
    customer_filter = filters.obj("customer_filter")
    if customer_filter is None:
        return None
    customer_filter.reject_unknown(("customer_ids",))
    customer_ids = customer_filter.strings("customer_ids")
    if customer_ids is not None and len(customer_ids) > MAX_CUSTOMER_IDS:
        raise bad_request(
            "ARRAY_LENGTH_TOO_LONG",
            f"`customer_ids` may contain at most {MAX_CUSTOMER_IDS} ids; got {len(customer_ids)}.",
            customer_filter.field("customer_ids"),
        )
    return customer_ids


def parse_search_orders(body: Body, known_location_ids: set[str]) -> SearchOrdersRequest:
    """Validate a ``SearchOrdersRequest`` body the way Square does; raises ``SquareRequestError``."""
    body.reject_unknown(("location_ids", "cursor", "query", "limit", "return_entries"))

    location_ids = body.strings("location_ids")
    if location_ids is None:
        raise bad_request("MISSING_REQUIRED_PARAMETER", "Missing required parameter `location_ids`.", "location_ids")
    if not location_ids:
        raise bad_request("ARRAY_EMPTY", "`location_ids` must contain at least one location id.", "location_ids")
    if len(location_ids) > MAX_LOCATION_IDS:
        raise bad_request(
            "ARRAY_LENGTH_TOO_LONG",
            f"`location_ids` may contain at most {MAX_LOCATION_IDS} ids; got {len(location_ids)}.",
            "location_ids",
        )
    for location_id in location_ids:
        if location_id not in known_location_ids:
            raise bad_request(
                "INVALID_VALUE", f"Location `{location_id}` does not belong to this merchant.", "location_ids"
            )

    limit = body.integer("limit")
    if limit is None:
        limit = DEFAULT_LIMIT
    elif limit < 1:
        raise bad_request("VALUE_TOO_LOW", "`limit` must be at least 1.", "limit")
    elif limit > MAX_LIMIT:
        raise bad_request("VALUE_TOO_HIGH", f"`limit` must be at most {MAX_LIMIT}.", "limit")

    states: list[str] | None = None
    source_names: list[str] | None = None
    customer_ids: list[str] | None = None
    time_field: str | None = None
    start_us: int | None = None
    end_us: int | None = None
    sort_field, sort_order = "CREATED_AT", "DESC"

    query = body.obj("query")
    if query is not None:
        query.reject_unknown(("filter", "sort"))
        filters = query.obj("filter")
        if filters is not None:
            filters.reject_unknown(
                ("state_filter", "date_time_filter", "source_filter", "customer_filter"),
                unsupported=("fulfillment_filter",),
            )
            customer_ids = _customer_ids(filters)
            state_filter = filters.obj("state_filter")
            if state_filter is not None:
                state_filter.reject_unknown(("states",))
                states = state_filter.enums("states", ORDER_STATES)
                if states is None:
                    raise bad_request(
                        "MISSING_REQUIRED_PARAMETER",
                        "Missing required parameter `states`.",
                        state_filter.field("states"),
                    )
            source_filter = filters.obj("source_filter")
            if source_filter is not None:
                source_filter.reject_unknown(("source_names",))
                source_names = source_filter.strings("source_names")
            date_filter = filters.obj("date_time_filter")
            if date_filter is not None:
                date_filter.reject_unknown(("created_at", "updated_at", "closed_at"))
                ranges = {
                    key: bounds
                    for key in ("created_at", "updated_at", "closed_at")
                    if (bounds := _time_range(date_filter, key)) is not None
                }
                if len(ranges) > 1:
                    raise bad_request(
                        "BAD_REQUEST",
                        "A date_time_filter may filter on only one of created_at, updated_at and closed_at.",
                        date_filter.path,
                    )
                for key, (start, end) in ranges.items():
                    time_field, start_us, end_us = key, start, end
        sort = query.obj("sort")
        if sort is not None:
            sort.reject_unknown(("sort_field", "sort_order"))
            field = sort.enum("sort_field", SORT_FIELDS)
            if field is None:
                raise bad_request(
                    "MISSING_REQUIRED_PARAMETER",
                    "Missing required parameter `sort_field`.",
                    sort.field("sort_field"),
                )
            sort_field = field
            sort_order = sort.enum("sort_order", SORT_ORDERS) or "DESC"

    if time_field is not None and SORT_FIELDS[sort_field] != time_field:
        raise bad_request(
            "BAD_REQUEST",
            f"When filtering by `{time_field}`, `query.sort.sort_field` must be "
            f"`{time_field.upper()}` (it is `{sort_field}`).",
            "query.sort.sort_field",
        )
    if sort_field == "CLOSED_AT" and states is not None and {"OPEN", "DRAFT"} & set(states):
        raise bad_request(
            "BAD_REQUEST",
            "Orders in state OPEN or DRAFT have no closed_at and cannot be sorted by CLOSED_AT.",
            "query.sort.sort_field",
        )

    return SearchOrdersRequest(
        query=OrdersQuery(
            location_ids=tuple(sorted(set(location_ids))),
            states=None if states is None else tuple(sorted(set(states))),
            source_names=None if source_names is None else tuple(sorted(set(source_names))),
            sort_field=sort_field,
            sort_order=sort_order,
            start_us=start_us,
            end_us=end_us,
            customer_ids=tuple(sorted(set(customer_ids))) if customer_ids else None,
        ),
        limit=limit,
        cursor=body.string("cursor"),
        return_entries=bool(body.boolean("return_entries")),
    )


@dataclass(frozen=True)
class OrdersPage:
    """One answer: the response body, the ids of the orders on it, and whether it is an injected
    empty page."""

    body: bytes
    order_ids: tuple[str, ...]
    empty: bool = False


class OrdersIndex:
    """The demo's orders (an :class:`~.store.OrderStore`) sorted by each sortable timestamp.

    ``json_of`` serialises a row (default: the store's JSON; the app passes one that serves
    injected malformed orders). ``empty_page`` (fault injection) decides, per query and position,
    whether an empty page with a cursor to that same position comes before the real page.
    :meth:`upsert` indexes a new or changed order (live data): entries are only ever added (see
    ``listing.StampedEntries``), so cursors in flight stay valid.
    """

    def __init__(
        self,
        store: OrderStore,
        codec: CursorCodec,
        *,
        empty_page: EmptyPagePolicy | None = None,
        json_of: Callable[[int], bytes] | None = None,
    ) -> None:
        self._store = store
        self._codec = codec
        self._empty_page = empty_page
        self._json_of = json_of or store.json
        self._sorted = {
            "CREATED_AT": StampedEntries(store.created_us, store.ids),
            "UPDATED_AT": StampedEntries(store.updated_us, store.ids),
            "CLOSED_AT": StampedEntries(store.closed_us, store.ids),
        }

    def upsert(self, order: JSONObject) -> None:
        """Index a new order or the changed order with its id (live data; stored in the store if it
        is not there yet)."""
        store = self._store
        row = store.row(order["id"])
        if row is None:
            row = store.put(order)
        for sort_field, attribute in SORT_FIELDS.items():
            self._sorted[sort_field].set(row, _stamp(order, attribute) if order.get(attribute) else None)

    def _entry_json(self, row: int) -> bytes:
        store = self._store
        entry = {"order_id": store.ids[row], "version": store.versions[row], "location_id": store.location_ids[row]}
        return orjson.dumps(entry)

    def search(self, request: SearchOrdersRequest, now_us: int) -> bytes:
        """Answer one page; returns the response body (JSON bytes)."""
        return self.page(request, now_us).body

    def page(self, request: SearchOrdersRequest, now_us: int) -> OrdersPage:
        """Answer one page, saying which orders it holds."""
        query = request.query
        query_fingerprint = query.fingerprint()
        state: CursorState | None = None
        if request.cursor is not None:
            state = self._codec.decode(request.cursor, query_fingerprint)
            pinned = state.pinned_end_us
        else:
            pinned = now_us if query.end_us is None else None
        end_us = query.end_us if query.end_us is not None else pinned

        store = self._store
        location_of, state_of = store.location_ids, store.states
        source_of, customers_of = store.sources, store.customers
        locations = set(query.location_ids)
        states = None if query.states is None else set(query.states)
        sources = None if query.source_names is None else set(query.source_names)
        customers = None if query.customer_ids is None else set(query.customer_ids)

        def keep(row: int) -> bool:
            if location_of[row] not in locations:
                return False
            if states is not None and state_of[row] not in states:
                return False
            if sources is not None and source_of[row] not in sources:
                return False
            if customers is not None:
                found = customers_of[row]
                if found is None or (found not in customers if isinstance(found, str) else customers.isdisjoint(found)):
                    return False
            return True

        page = walk_page(
            self._sorted[query.sort_field],
            self._entry_json if request.return_entries else self._json_of,
            PageRequest(
                fingerprint=query_fingerprint,
                sort=query.sort_field,
                descending=query.sort_order != "ASC",
                limit=request.limit,
                state=state,
                pinned_us=pinned,
                low=query.start_us,
                high=None if end_us is None else end_us + 1,  # the end is inclusive; stamps are whole µs
                keep=keep,
            ),
            self._codec,
            b"order_entries" if request.return_entries else b"orders",
            self._empty_page,
        )
        return OrdersPage(page.body, tuple(store.ids[row] for row in page.rows), empty=page.empty)


def _stamp(order: JSONObject, attribute: str) -> tuple[int, str]:
    return parse_rfc3339_us(order[attribute]), order["id"]
