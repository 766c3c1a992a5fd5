"""``GET /v2/payments`` (ListPayments) and ``GET /v2/refunds`` (ListPaymentRefunds), independent
of HTTP.

What Square's spec says and the demo does:

* ``location_id``: payments default to the seller's **main** location only (the first one
  opened); refunds default to every location; an unknown location is a 400 ``INVALID_VALUE``;
* ``begin_time`` / ``end_time`` filter ``created_at``: ``begin_time`` is inclusive (the spec says
  so) and defaults to the simulated now (``DemoData.anchor``) minus one year; ``end_time``
  defaults to the current time (the app's clock, pinned in the cursor at the first request like
  an open ``end_at`` of an orders search) and is **exclusive** (the spec marks only
  ``begin_time`` inclusive; Square's date ranges are half-open);
* ``updated_at_begin_time`` (inclusive) / ``updated_at_end_time`` (exclusive) filter
  ``updated_at``; for refunds an omitted ``updated_at_end_time`` is the current time (pinned);
* ``sort_field`` ``CREATED_AT`` (default) or ``UPDATED_AT`` (payments also
  ``OFFLINE_CREATED_AT``, which falls back to ``created_at``: no demo payment was taken
  offline), ``sort_order`` ``DESC`` (default) or ``ASC`` (anything else: 400
  ``INVALID_SORT_ORDER``); ties are broken by id;
* ``limit`` defaults to 100; above 100 the spec says Square uses 100 (payments: "ignored and the
  default value is used instead"; refunds: "no more than 100 results"), so the demo does too; below
  1 is a 400 ``VALUE_TOO_LOW`` (the spec is silent);
* payments also filter on ``total`` (exact ``total_money``), ``last_4``, ``card_brand`` and
  ``is_offline_payment`` (default false; true, ``offline_begin_time`` or ``offline_end_time``
  match nothing: no demo payment was offline); refunds on ``status`` and ``source_type``;
* an inverted range is a 400 ``INVALID_TIME_RANGE``; the answer is ``{}`` when nothing matches.

The index reads the payments or refunds straight from their :class:`~.store.ObjectStore`: its
timestamp and location columns for the sort and the usual filters; the rarer filters (total, card,
status) decode the rows they look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .cursors import CursorCodec, CursorState, fingerprint
from .listing import EmptyPagePolicy, Page, PageRequest, StampedEntries, walk_page
from .params import QueryParams
from .store import ObjectStore
from .wire import bad_request

JSONObject = dict[str, Any]

DEFAULT_LIMIT = 100
MAX_LIMIT = 100
COMMON_PARAMS = (
    "begin_time", "end_time", "sort_order", "cursor", "location_id", "limit",
    "updated_at_begin_time", "updated_at_end_time", "sort_field",
)  # fmt: skip
PAYMENT_PARAMS = (
    *COMMON_PARAMS, "total", "last_4", "card_brand", "is_offline_payment", "offline_begin_time", "offline_end_time",
)  # fmt: skip
REFUND_PARAMS = (*COMMON_PARAMS, "status", "source_type")
PAYMENT_SORTS = {"CREATED_AT": "created", "OFFLINE_CREATED_AT": "created", "UPDATED_AT": "updated"}
REFUND_SORTS = {"CREATED_AT": "created", "UPDATED_AT": "updated"}
LOOKBACK_US = 365 * 86_400 * 1_000_000  # begin_time defaults to now minus one year


@dataclass(frozen=True)
class LedgerQuery:
    """A validated ListPayments / ListPaymentRefunds query; ``None`` ends mean "now"."""

    location_id: str | None
    begin_us: int
    end_us: int | None
    updated_begin_us: int | None
    updated_end_us: int | None
    updated_end_is_now: bool
    sort: str
    descending: bool
    limit: int
    cursor: str | None
    filters: tuple[tuple[str, Any], ...]  # (attribute, wanted value); ("offline", True) matches nothing

    def fingerprint(self) -> str:
        return fingerprint(
            [
                self.location_id,
                [self.begin_us, self.end_us, self.updated_begin_us, self.updated_end_us],
                self.sort,
                self.descending,
                list(self.filters),
            ]
        )


def parse_ledger_query(
    params: QueryParams, *, refunds: bool, location_ids: set[str], default_location: str, anchor_us: int
) -> LedgerQuery:
    """Validate ListPayments (``refunds=False``) or ListPaymentRefunds parameters."""
    params.reject_unknown(REFUND_PARAMS if refunds else PAYMENT_PARAMS)
    location_id = params.string("location_id")
    if location_id is not None and location_id not in location_ids:
        raise bad_request("INVALID_VALUE", f"Location `{location_id}` does not belong to this merchant.", "location_id")
    begin = params.time("begin_time")
    end = params.time("end_time")
    updated_begin = params.time("updated_at_begin_time")
    updated_end = params.time("updated_at_end_time")
    begin = anchor_us - LOOKBACK_US if begin is None else begin
    for low, high, name in ((begin, end, "end_time"), (updated_begin, updated_end, "updated_at_end_time")):
        if low is not None and high is not None and low > high:
            raise bad_request("INVALID_TIME_RANGE", f"`{name}` must not be before the start of its range.", name)
    sort_field = params.enum("sort_field", REFUND_SORTS if refunds else PAYMENT_SORTS) or "CREATED_AT"
    sort_order = params.enum("sort_order", ("ASC", "DESC"), code="INVALID_SORT_ORDER") or "DESC"
    limit = params.integer("limit")
    if limit is None or limit > MAX_LIMIT:
        limit = DEFAULT_LIMIT
    elif limit < 1:
        raise bad_request("VALUE_TOO_LOW", "`limit` must be at least 1.", "limit")

    filters: list[tuple[str, Any]] = []
    if refunds:
        for name in ("status", "source_type"):
            value = params.string(name)
            if value is not None:
                filters.append((name, value))
    else:
        total = params.integer("total")
        if total is not None:
            filters.append(("total", total))
        for name in ("last_4", "card_brand"):
            value = params.string(name)
            if value is not None:
                filters.append((name, value))
        offline = bool(params.boolean("is_offline_payment"))
        offline_range = params.time("offline_begin_time") is not None or params.time("offline_end_time") is not None
        if offline or offline_range:
            filters.append(("offline", True))
    return LedgerQuery(
        location_id=location_id if location_id is not None or refunds else default_location,
        begin_us=begin,
        end_us=end,
        updated_begin_us=updated_begin,
        updated_end_us=updated_end,
        updated_end_is_now=refunds and updated_end is None,
        sort=(REFUND_SORTS if refunds else PAYMENT_SORTS)[sort_field],
        descending=sort_order == "DESC",
        limit=limit,
        cursor=params.string("cursor"),
        filters=tuple(filters),
    )


def _attributes(obj: JSONObject) -> dict[str, Any]:
    card = (obj.get("card_details") or {}).get("card") or {}
    return {
        "location": obj.get("location_id"),
        "status": obj.get("status"),
        "source_type": obj.get("destination_type") or obj.get("source_type"),
        "total": (obj.get("total_money") or {}).get("amount"),
        "last_4": card.get("last_4"),
        "card_brand": card.get("card_brand"),
        "offline": bool(obj.get("is_offline_payment")),
    }


class LedgerIndex:
    """Payments or refunds (an :class:`~.store.ObjectStore`) sorted by ``created_at`` and by
    ``updated_at``."""

    def __init__(
        self, store: ObjectStore, codec: CursorCodec, key: str, *, empty_page: EmptyPagePolicy | None = None
    ) -> None:
        self._store = store
        self._codec = codec
        self._key = key.encode()
        self._empty_page = empty_page
        self._entries = {
            "created": StampedEntries(store.created_us, store.ids),
            "updated": StampedEntries(store.updated_us, store.ids),
        }

    def upsert(self, obj: JSONObject) -> None:
        """Index a new payment/refund or a changed one (live data; stored in the store if it is not
        there yet)."""
        store = self._store
        row = store.row(obj["id"])
        if row is None:
            row = store.put(obj)
        self._entries["created"].set(row, (store.created_us[row], obj["id"]))
        self._entries["updated"].set(row, (store.updated_us[row], obj["id"]))

    def decode(self, cursor: str | None, fingerprint: str) -> CursorState | None:
        """The state of ``cursor`` for this query (400 ``INVALID_CURSOR`` if it does not fit)."""
        return None if cursor is None else self._codec.decode(cursor, fingerprint)

    def page(self, query: LedgerQuery, now_us: int) -> Page:
        query_fingerprint = query.fingerprint()
        state = self.decode(query.cursor, query_fingerprint)
        pinned = now_us if state is None else state.pinned_end_us
        if pinned is None:
            pinned = now_us
        end = query.end_us if query.end_us is not None else pinned
        updated_end = pinned if query.updated_end_is_now else query.updated_end_us
        begin, updated_begin = query.begin_us, query.updated_begin_us
        store = self._store
        created, updated, locations = store.created_us, store.updated_us, store.location_ids
        location, filters = query.location_id, query.filters

        def keep(row: int) -> bool:
            if not begin <= created[row] < end:
                return False
            stamp = updated[row]
            if updated_begin is not None and stamp < updated_begin:
                return False
            if updated_end is not None and stamp >= updated_end:
                return False
            if location is not None and locations[row] != location:
                return False
            if not filters:
                return True
            found = _attributes(store.object(row))
            return all(found[name] == wanted for name, wanted in filters)

        low, high = (begin, end) if query.sort == "created" else (updated_begin, updated_end)
        request = PageRequest(
            fingerprint=query_fingerprint,
            sort=query.sort,
            descending=query.descending,
            limit=query.limit,
            state=state,
            pinned_us=pinned,
            low=low,
            high=high,
            keep=keep,
        )
        return walk_page(self._entries[query.sort], store.json, request, self._codec, self._key, self._empty_page)
