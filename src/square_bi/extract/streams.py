"""Every Square stream declared once: endpoint, page size, incremental filter, partitioning,
watermark and primary key. A new stream is a declaration here, not a new loop (the loop is
``runner.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from square import AsyncSquare

from square_bi.extract import records
from square_bi.extract.records import JsonObject
from square_bi.square.client import NO_SDK_RETRIES, request_json, request_objects, to_json

MAX_LOCATIONS_PER_ORDER_SEARCH = 10
CATALOG_TYPES = ("ITEM", "ITEM_VARIATION", "CATEGORY")


@dataclass(frozen=True)
class PageRequest:
    """What one call asks for: the partition, the pinned window and the cursor (if resuming)."""

    partition: str
    window_start: datetime | None
    window_end: datetime | None
    cursor: str | None
    limit: int


@dataclass(frozen=True)
class RawPage:
    """Square's answer: raw JSON objects, the next cursor (None on the last page), and for the
    catalog the ``latest_time`` Square reports."""

    objects: Sequence[JsonObject]
    cursor: str | None
    latest_time: datetime | None = None


Fetch = Callable[[AsyncSquare, PageRequest], Awaitable[RawPage]]


@dataclass(frozen=True)
class Stream:
    name: str
    endpoint: str
    record: records.RecordSchema
    """The TypedDict pydantic validates each object as (``records``)."""
    primary_key: str
    fetch: Fetch
    page_size: int
    incremental: Literal["window", "after_watermark", "full"]
    """``window``: filter on updated time between watermark - lookback and the run's start;
    ``after_watermark``: everything updated strictly after the watermark (catalog ``begin_time``);
    ``full``: the whole collection every run."""
    scope: str = "MERCHANT_PROFILE_READ"
    """The OAuth permission the endpoint needs (named in the error when it is missing)."""
    sorted_by_updated_at: bool = False
    """Pages come sorted by ``updated_at`` ascending, so an expired cursor can resume from the last
    record read instead of the window's start."""
    partitioning: Literal["none", "location_batches", "per_location"] = "none"
    """``location_batches``: one partition per batch of at most 10 locations (orders search);
    ``per_location``: one per location (payments: without ``location_id`` Square lists only the
    main location's)."""


def rfc3339(value: datetime) -> str:
    """UTC RFC 3339 with milliseconds, as Square writes timestamps."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}Z"


def parse_rfc3339(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None)


async def fetch_locations(client: AsyncSquare, request: PageRequest) -> RawPage:
    response = await client.locations.list(request_options=NO_SDK_RETRIES)
    return RawPage([to_json(loc) for loc in response.locations or []], cursor=None)


async def fetch_catalog(client: AsyncSquare, request: PageRequest) -> RawPage:
    kwargs: dict[str, Any] = {
        "object_types": list(CATALOG_TYPES),
        "include_deleted_objects": True,
        "limit": request.limit,
    }
    if request.window_start is not None:
        kwargs["begin_time"] = rfc3339(request.window_start)
    if request.cursor:
        kwargs["cursor"] = request.cursor
    body = await request_json(client, "POST", "v2/catalog/search", json=kwargs)
    return RawPage(
        body.get("objects") or [],
        cursor=body.get("cursor") or None,
        latest_time=parse_rfc3339(body.get("latest_time")),
    )


async def fetch_orders(client: AsyncSquare, request: PageRequest) -> RawPage:
    updated_at: dict[str, str] = {}
    if request.window_start is not None:
        updated_at["start_at"] = rfc3339(request.window_start)
    if request.window_end is not None:
        updated_at["end_at"] = rfc3339(request.window_end)
    query: dict[str, Any] = {"sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}}
    if updated_at:
        query["filter"] = {"date_time_filter": {"updated_at": updated_at}}
    kwargs: dict[str, Any] = {
        "location_ids": location_batch(request.partition),
        "query": query,
        "limit": request.limit,
    }
    if request.cursor:
        kwargs["cursor"] = request.cursor
    orders, cursor = await request_objects(client, "POST", "v2/orders/search", "orders", json=kwargs)
    return RawPage(orders, cursor=cursor)


EARLIEST_SQUARE_TIME = datetime(2009, 1, 1)
"""Before any Square payment existed. Payments and refunds filter ``begin_time`` on created_at and
default it to one year ago, which would silently drop older history: we always send this instead."""


def _updated_window_params(request: PageRequest, limit: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "begin_time": rfc3339(EARLIEST_SQUARE_TIME),
        "sort_field": "UPDATED_AT",
        "sort_order": "ASC",
        "limit": limit,
    }
    if request.window_start is not None:
        params["updated_at_begin_time"] = rfc3339(request.window_start)
    if request.window_end is not None:
        params["updated_at_end_time"] = rfc3339(request.window_end)
        params["end_time"] = rfc3339(request.window_end)
    if request.cursor:
        params["cursor"] = request.cursor
    return params


async def fetch_payments(client: AsyncSquare, request: PageRequest) -> RawPage:
    params = _updated_window_params(request, request.limit)
    params["location_id"] = request.partition
    body = await request_json(client, "GET", "v2/payments", params=params)
    return RawPage(body.get("payments") or [], cursor=body.get("cursor") or None)


async def fetch_refunds(client: AsyncSquare, request: PageRequest) -> RawPage:
    body = await request_json(client, "GET", "v2/refunds", params=_updated_window_params(request, request.limit))
    return RawPage(body.get("refunds") or [], cursor=body.get("cursor") or None)


async def fetch_customers(client: AsyncSquare, request: PageRequest) -> RawPage:
    updated_at: dict[str, str] = {}
    if request.window_start is not None:
        updated_at["start_at"] = rfc3339(request.window_start)
    if request.window_end is not None:
        updated_at["end_at"] = rfc3339(request.window_end)
    payload: dict[str, Any] = {"limit": request.limit}
    if updated_at:
        payload["query"] = {"filter": {"updated_at": updated_at}}
    if request.cursor:
        payload["cursor"] = request.cursor
    body = await request_json(client, "POST", "v2/customers/search", json=payload)
    return RawPage(body.get("customers") or [], cursor=body.get("cursor") or None)


async def fetch_team_members(client: AsyncSquare, request: PageRequest) -> RawPage:
    payload: dict[str, Any] = {"limit": request.limit}  # no status filter: ACTIVE and INACTIVE alike
    if request.cursor:
        payload["cursor"] = request.cursor
    body = await request_json(client, "POST", "v2/team-members/search", json=payload)
    return RawPage(body.get("team_members") or [], cursor=body.get("cursor") or None)


def location_partitions(location_ids: Sequence[str]) -> list[str]:
    """Batches of at most 10 location ids (Square's limit per orders search), as partition keys."""
    ids = sorted(set(location_ids))
    return [
        ",".join(ids[i : i + MAX_LOCATIONS_PER_ORDER_SEARCH])
        for i in range(0, len(ids), MAX_LOCATIONS_PER_ORDER_SEARCH)
    ]


def location_batch(partition: str) -> list[str]:
    return partition.split(",") if partition else []


LOCATIONS = Stream(
    name="locations",
    endpoint="GET /v2/locations",
    record=records.Location,
    primary_key="id",
    fetch=fetch_locations,
    page_size=0,
    incremental="full",
)

CATALOG = Stream(
    name="catalog",
    endpoint="POST /v2/catalog/search",
    record=records.CatalogObject,
    scope="ITEMS_READ",
    primary_key="id",
    fetch=fetch_catalog,
    page_size=1000,
    incremental="after_watermark",
)

ORDERS = Stream(
    name="orders",
    endpoint="POST /v2/orders/search",
    record=records.Order,
    scope="ORDERS_READ",
    primary_key="id",
    fetch=fetch_orders,
    page_size=500,
    incremental="window",
    sorted_by_updated_at=True,
    partitioning="location_batches",
)

PAYMENTS = Stream(
    name="payments",
    endpoint="GET /v2/payments",
    record=records.Payment,
    scope="PAYMENTS_READ",
    primary_key="id",
    fetch=fetch_payments,
    page_size=100,
    incremental="window",
    sorted_by_updated_at=True,
    partitioning="per_location",
)

REFUNDS = Stream(
    name="refunds",
    endpoint="GET /v2/refunds",
    record=records.PaymentRefund,
    scope="PAYMENTS_READ",
    primary_key="id",
    fetch=fetch_refunds,
    page_size=100,
    incremental="window",
    sorted_by_updated_at=True,
)

CUSTOMERS = Stream(
    name="customers",
    endpoint="POST /v2/customers/search",
    record=records.Customer,
    scope="CUSTOMERS_READ",
    primary_key="id",
    fetch=fetch_customers,
    page_size=100,
    incremental="window",
)

TEAM_MEMBERS = Stream(
    name="team_members",
    endpoint="POST /v2/team-members/search",
    record=records.TeamMember,
    scope="EMPLOYEES_READ",
    primary_key="id",
    fetch=fetch_team_members,
    page_size=200,
    incremental="full",
)

STREAMS: dict[str, Stream] = {
    s.name: s for s in (LOCATIONS, CATALOG, ORDERS, PAYMENTS, REFUNDS, CUSTOMERS, TEAM_MEMBERS)
}

DEFAULT_STREAMS: tuple[str, ...] = tuple(STREAMS)
"""What a sync reads unless told otherwise: every stream."""
