"""Square's official Python SDK (``squareup``) talks to the demo merchant and parses every answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from square import AsyncSquare
from square.core.api_error import ApiError
from square_demo_support import TOKEN, parse_time

from square_bi.square.demo import DemoData, DemoServer

# squareup 46 reads pydantic's deprecated ``__fields__`` on every parse; that is the SDK's noise.
pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated:DeprecationWarning")


@pytest.fixture
async def sdk(demo_server: DemoServer) -> AsyncIterator[AsyncSquare]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield AsyncSquare(token=TOKEN, base_url=demo_server.base_url, httpx_client=client)


async def test_sdk_lists_the_locations(sdk: AsyncSquare, demo_data: DemoData) -> None:
    response = await sdk.locations.list()
    assert response.errors is None
    assert response.locations is not None
    assert [loc.id for loc in response.locations] == [loc["id"] for loc in demo_data.locations]
    assert {loc.timezone for loc in response.locations} == {loc["timezone"] for loc in demo_data.locations}


async def test_sdk_pages_through_orders_with_the_cursor(sdk: AsyncSquare, demo_data: DemoData) -> None:
    # The SDK spends ~4 ms parsing each order, so page through two days rather than everything.
    location_ids = [loc["id"] for loc in demo_data.locations]
    start = (demo_data.anchor - timedelta(days=3)).isoformat()
    end = (demo_data.anchor - timedelta(days=1)).isoformat()
    query: Any = {
        "filter": {
            "date_time_filter": {"updated_at": {"start_at": start, "end_at": end}},
            "state_filter": {"states": ["COMPLETED"]},
        },
        "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
    }
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        page = await sdk.orders.search(location_ids=location_ids, query=query, limit=100, cursor=cursor)
        assert page.errors is None and page.orders
        for order in page.orders:
            assert order.id is not None and (order.line_items or order.returns)
            ids.append(order.id)
            assert order.line_items is None or isinstance(order.line_items[0].quantity, str)
            assert order.total_money is not None and isinstance(order.total_money.amount, int)
        cursor = page.cursor
        if cursor is None:
            break
    expected = {
        order["id"]
        for order in demo_data.orders
        if parse_time(start) <= parse_time(order["updated_at"]) <= parse_time(end) and order["state"] == "COMPLETED"
    }
    assert len(ids) > 100
    assert sorted(ids) == sorted(expected)


async def test_sdk_searches_the_catalog(sdk: AsyncSquare, demo_data: DemoData) -> None:
    response = await sdk.catalog.search(object_types=["ITEM", "ITEM_VARIATION"], limit=1000)
    assert response.errors is None and response.objects is not None
    assert response.latest_time is not None
    types = {obj.type for obj in response.objects}
    assert types == {"ITEM", "ITEM_VARIATION"}
    live = [o for o in demo_data.catalog_objects if o["type"] in types and not o["is_deleted"]]
    assert len(response.objects) == len(live)


async def test_sdk_raises_api_error_401_for_a_wrong_token(demo_server: DemoServer) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        sdk = AsyncSquare(token="not-the-token", base_url=demo_server.base_url, httpx_client=client)
        with pytest.raises(ApiError) as raised:
            await sdk.locations.list()
    assert raised.value.status_code == 401
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["errors"][0]["code"] == "UNAUTHORIZED"


async def test_sdk_raises_api_error_400_for_a_foreign_cursor(sdk: AsyncSquare, demo_data: DemoData) -> None:
    with pytest.raises(ApiError) as raised:
        await sdk.orders.search(location_ids=[demo_data.locations[0]["id"]], cursor="expired-cursor")
    assert raised.value.status_code == 400
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["errors"][0]["code"] == "INVALID_CURSOR"


async def test_sdk_pages_payments_of_one_location_with_its_pager(sdk: AsyncSquare, demo_data: DemoData) -> None:
    location = demo_data.locations[1]["id"]
    begin = (demo_data.anchor - timedelta(days=2)).isoformat()
    pager = await sdk.payments.list(location_id=location, begin_time=begin, sort_order="ASC", limit=50)
    ids = [payment.id async for payment in pager]
    expected = [
        p["id"]
        for p in sorted(demo_data.payments, key=lambda p: (parse_time(p["created_at"]), p["id"]))
        if p["location_id"] == location and parse_time(p["created_at"]) >= parse_time(begin)
    ]
    assert ids == expected and len(ids) > 50


async def test_sdk_lists_refunds_and_reads_their_money(sdk: AsyncSquare, demo_data: DemoData) -> None:
    pager = await sdk.refunds.list(sort_field="UPDATED_AT", sort_order="ASC", limit=10)
    refunds = [refund async for refund in pager]
    assert sorted(r.id for r in refunds) == sorted(r["id"] for r in demo_data.refunds)
    assert all(r.amount_money.amount is not None and r.amount_money.amount > 0 for r in refunds)


async def test_sdk_searches_customers_and_team_members(sdk: AsyncSquare, demo_data: DemoData) -> None:
    query: Any = {"filter": {"updated_at": {"start_at": "2025-01-01T00:00:00Z"}}, "sort": {"field": "CREATED_AT"}}
    found: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        page = await sdk.customers.search(limit=25, query=query, cursor=cursor)
        found += [customer.id for customer in page.customers or [] if customer.id]
        cursor = page.cursor
        if cursor is None:
            break
    since = parse_time("2025-01-01T00:00:00Z")
    assert sorted(found) == sorted(c["id"] for c in demo_data.customers if parse_time(c["updated_at"]) >= since)
    customers = await sdk.customers.list(limit=100)
    assert len([c async for c in customers]) == len(demo_data.customers)
    team = await sdk.team_members.search(limit=200)
    assert team.team_members is not None
    assert {m.id for m in team.team_members} == {m["id"] for m in demo_data.team_members}
    assert sum(bool(m.is_owner) for m in team.team_members) == 1


async def test_sdk_gets_orders_by_id_and_lists_the_catalog(sdk: AsyncSquare, demo_data: DemoData) -> None:
    wanted = [demo_data.orders[i]["id"] for i in (0, 3, 9)]
    batch = await sdk.orders.batch_get(order_ids=[*wanted, "NoSuchOrder"])
    assert batch.orders is not None and [o.id for o in batch.orders] == wanted
    single = await sdk.orders.get(wanted[1])
    assert single.order is not None and single.order.id == wanted[1]
    with pytest.raises(ApiError) as raised:
        await sdk.orders.get("NoSuchOrder")
    assert raised.value.status_code == 404
    listed = await sdk.catalog.list(types="TAX,DISCOUNT")
    assert {obj.type async for obj in listed} == {"TAX", "DISCOUNT"}
