"""Customers (``GET /v2/customers``, ``POST /v2/customers/search``) and team members
(``POST /v2/team-members/search``), independent of HTTP.

Customers, as Square's spec describes them:

* ``limit`` 1 to 100 (default 100); outside that a 400 ``VALUE_TOO_LOW`` / ``VALUE_TOO_HIGH``;
* sort ``DEFAULT`` (alphabetical by ``given_name`` then ``family_name``, case-insensitive, ties by
  id) or ``CREATED_AT``, order ``ASC`` (default) or ``DESC``; ListCustomers takes them as the
  ``sort_field`` / ``sort_order`` parameters, SearchCustomers as ``query.sort.field`` / ``order``;
* SearchCustomers filters ``query.filter.created_at`` and ``updated_at`` (``TimeRange``, both
  ends inclusive, either end open); the other filters Square has (``email_address``,
  ``group_ids``, ...) are a 400 ``BAD_REQUEST``: valid for Square, not implemented here;
* ``count: true`` adds the number of matching customers; nothing matching answers ``{}``.

Team members: ``query.filter.location_ids`` (members assigned to any of them; the owner, assigned
to all current and future locations, always matches; an empty list means any location),
``status`` (``ACTIVE`` / ``INACTIVE``, default both) and ``is_owner`` (true: only the owner;
false is the same as absent, the spec gives it no meaning); ``limit`` 1 to 200, default 100;
results ordered by ``created_at`` then id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .cursors import CursorCodec, fingerprint
from .listing import EmptyPagePolicy, Page, PageRequest, SortedIndex
from .params import QueryParams, parse_time
from .timefmt import parse_rfc3339_us
from .wire import Body, bad_request

JSONObject = dict[str, Any]

CUSTOMER_SORTS = ("DEFAULT", "CREATED_AT")
SORT_ORDERS = ("ASC", "DESC")
CUSTOMER_MAX_LIMIT = 100
TEAM_DEFAULT_LIMIT = 100
TEAM_MAX_LIMIT = 200
UNSUPPORTED_CUSTOMER_FILTERS = (
    "creation_source", "email_address", "phone_number", "reference_id", "group_ids", "custom_attribute",
    "segment_ids",
)  # fmt: skip


def _limit(value: int | None, default: int, maximum: int, field: str = "limit") -> int:
    if value is None:
        return default
    if value < 1:
        raise bad_request("VALUE_TOO_LOW", f"`{field}` must be at least 1.", field)
    if value > maximum:
        raise bad_request("VALUE_TOO_HIGH", f"`{field}` must be at most {maximum}.", field)
    return value


@dataclass(frozen=True)
class CustomerQuery:
    sort: str
    descending: bool
    created: tuple[int | None, int | None] | None
    updated: tuple[int | None, int | None] | None
    limit: int
    cursor: str | None
    count: bool
    endpoint: str

    def fingerprint(self) -> str:
        return fingerprint([self.endpoint, self.sort, self.descending, self.created, self.updated])


def parse_list_customers(params: QueryParams) -> CustomerQuery:
    params.reject_unknown(("cursor", "limit", "sort_field", "sort_order", "count"))
    return CustomerQuery(
        sort=params.enum("sort_field", CUSTOMER_SORTS) or "DEFAULT",
        descending=(params.enum("sort_order", SORT_ORDERS) or "ASC") == "DESC",
        created=None,
        updated=None,
        limit=_limit(params.integer("limit"), CUSTOMER_MAX_LIMIT, CUSTOMER_MAX_LIMIT),
        cursor=params.string("cursor"),
        count=bool(params.boolean("count")),
        endpoint="list",
    )


def _time_range(body: Body, key: str) -> tuple[int | None, int | None] | None:
    time_range = body.obj(key)
    if time_range is None:
        return None
    time_range.reject_unknown(("start_at", "end_at"))
    start, end = (time_range.string(name) for name in ("start_at", "end_at"))
    start_us = None if start is None else parse_time(start, time_range.field("start_at"))
    end_us = None if end is None else parse_time(end, time_range.field("end_at"))
    if start_us is not None and end_us is not None and start_us > end_us:
        raise bad_request("INVALID_TIME_RANGE", "`start_at` must not be after `end_at`.", time_range.path)
    return start_us, end_us


def parse_search_customers(body: Body) -> CustomerQuery:
    body.reject_unknown(("cursor", "limit", "query", "count"))
    sort, order = "DEFAULT", "ASC"
    created = updated = None
    query = body.obj("query")
    if query is not None:
        query.reject_unknown(("filter", "sort"))
        filters = query.obj("filter")
        if filters is not None:
            filters.reject_unknown(("created_at", "updated_at"), unsupported=UNSUPPORTED_CUSTOMER_FILTERS)
            created, updated = _time_range(filters, "created_at"), _time_range(filters, "updated_at")
        sorting = query.obj("sort")
        if sorting is not None:
            sorting.reject_unknown(("field", "order"))
            sort = sorting.enum("field", CUSTOMER_SORTS) or "DEFAULT"
            order = sorting.enum("order", SORT_ORDERS) or "ASC"
    return CustomerQuery(
        sort=sort,
        descending=order == "DESC",
        created=created,
        updated=updated,
        limit=_limit(body.integer("limit"), CUSTOMER_MAX_LIMIT, CUSTOMER_MAX_LIMIT),
        cursor=body.string("cursor"),
        count=bool(body.boolean("count")),
        endpoint="search",
    )


def _within(stamp: int, bounds: tuple[int | None, int | None] | None) -> bool:
    if bounds is None:
        return True
    start, end = bounds
    return (start is None or stamp >= start) and (end is None or stamp <= end)


class CustomerIndex:
    def __init__(
        self, customers: list[JSONObject], codec: CursorCodec, *, empty_page: EmptyPagePolicy | None = None
    ) -> None:
        self._created = {c["id"]: parse_rfc3339_us(c["created_at"]) for c in customers}
        self._updated = [parse_rfc3339_us(c["updated_at"]) for c in customers]
        created = self._created
        self.index = SortedIndex(
            customers,
            {
                "DEFAULT": lambda c: (
                    (c.get("given_name") or "").lower(),
                    (c.get("family_name") or "").lower(),
                    c["id"],
                ),
                "CREATED_AT": lambda c: (created[c["id"]], c["id"]),
            },
            codec,
            "customers",
            empty_page=empty_page,
        )
        self._created_rows = [created[c["id"]] for c in customers]

    def upsert(self, customer: JSONObject) -> None:
        """Replace a changed customer or add a new one (live data)."""
        created_us = parse_rfc3339_us(customer["created_at"])
        updated_us = parse_rfc3339_us(customer["updated_at"])
        self._created[customer["id"]] = created_us
        row = self.index.row(customer["id"])
        if row is None:
            self._created_rows.append(created_us)
            self._updated.append(updated_us)
        else:
            self._created_rows[row], self._updated[row] = created_us, updated_us
        self.index.upsert(customer)

    def page(self, query: CustomerQuery) -> tuple[Page, int | None]:
        """The page and, when ``query.count``, how many customers match in all."""
        query_fingerprint = query.fingerprint()
        state = self.index.decode(query.cursor, query_fingerprint)
        created, updated = self._created_rows, self._updated

        def keep(row: int) -> bool:
            return _within(created[row], query.created) and _within(updated[row], query.updated)

        page = self.index.page(
            PageRequest(query_fingerprint, query.sort, query.descending, query.limit, state, keep=keep)
        )
        count = sum(keep(row) for row in range(len(created))) if query.count else None
        return page, count


@dataclass(frozen=True)
class TeamQuery:
    location_ids: tuple[str, ...] | None
    status: str | None
    owner_only: bool
    limit: int
    cursor: str | None

    def fingerprint(self) -> str:
        return fingerprint([self.location_ids, self.status, self.owner_only])


def parse_search_team_members(body: Body) -> TeamQuery:
    body.reject_unknown(("query", "limit", "cursor"))
    location_ids = status = None
    owner_only = False
    query = body.obj("query")
    filters = None if query is None else query.obj("filter")
    if query is not None:
        query.reject_unknown(("filter",))
    if filters is not None:
        filters.reject_unknown(("location_ids", "status", "is_owner"))
        location_ids = filters.strings("location_ids")
        status = filters.enum("status", ("ACTIVE", "INACTIVE"))
        owner_only = bool(filters.boolean("is_owner"))
    return TeamQuery(
        location_ids=tuple(sorted(set(location_ids))) if location_ids else None,
        status=status,
        owner_only=owner_only,
        limit=_limit(body.integer("limit"), TEAM_DEFAULT_LIMIT, TEAM_MAX_LIMIT),
        cursor=body.string("cursor"),
    )


class TeamIndex:
    def __init__(
        self, members: list[JSONObject], codec: CursorCodec, *, empty_page: EmptyPagePolicy | None = None
    ) -> None:
        self._members = members
        self.index = SortedIndex(
            members,
            {"created": lambda m: (parse_rfc3339_us(m["created_at"]), m["id"])},
            codec,
            "team_members",
            empty_page=empty_page,
        )

    def page(self, query: TeamQuery) -> Page:
        query_fingerprint = query.fingerprint()
        state = self.index.decode(query.cursor, query_fingerprint)
        members = self._members
        wanted = None if query.location_ids is None else set(query.location_ids)

        def keep(row: int) -> bool:
            member = members[row]
            if query.status is not None and member.get("status") != query.status:
                return False
            if query.owner_only and not member.get("is_owner"):
                return False
            if wanted is None:
                return True
            assigned = member.get("assigned_locations") or {}
            if assigned.get("assignment_type") == "ALL_CURRENT_AND_FUTURE_LOCATIONS":
                return True
            return not wanted.isdisjoint(assigned.get("location_ids") or ())

        return self.index.page(PageRequest(query_fingerprint, "created", False, query.limit, state, keep=keep))
