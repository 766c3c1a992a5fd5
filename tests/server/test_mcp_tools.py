"""The MCP server through a real in-memory client session."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from mcp import Client

from shop_support import RawMerchant
from square_bi.server.app import build_server


def expected_gross_sales_by_location(raw: RawMerchant) -> dict[str, Decimal]:
    """Square's definition, straight from the API's JSON: gross_sales_money of every line item of a
    COMPLETED order, gift cards excluded, in major units (the demo's currencies have 2 decimals)."""
    names = {loc["id"]: loc["name"] for loc in raw.locations}
    cents: dict[str, int] = defaultdict(int)
    for order in raw.orders:
        if order.get("state") != "COMPLETED":
            continue
        for line in order.get("line_items", []):
            if line.get("item_type") == "GIFT_CARD":
                continue
            cents[names[order["location_id"]]] += line["gross_sales_money"]["amount"]
    return {name: Decimal(amount) / 100 for name, amount in cents.items()}


async def test_gross_sales_per_location_equal_the_sum_of_the_merchants_raw_orders(
    shop_db: Path, raw_shop: RawMerchant
) -> None:
    async with Client(build_server(shop_db)) as client:
        result = await client.call_tool("query_metrics", {"metrics": ["gross_sales"], "group_by": ["location__name"]})
    assert not result.is_error, result.content
    data = result.structured_content
    assert data is not None
    name_col = data["columns"].index("location__name")
    value_col = data["columns"].index("gross_sales")
    currency_col = data["columns"].index("currency")
    answered = {row[name_col]: Decimal(row[value_col]) for row in data["rows"]}
    assert answered == expected_gross_sales_by_location(raw_shop)
    currency_of = {loc["name"]: loc["currency"] for loc in raw_shop.locations}
    assert {row[name_col]: row[currency_col] for row in data["rows"]} == currency_of
    assert data["currencies"] == sorted(set(currency_of.values()))
    assert data["limit_hit"] is False


async def test_money_summed_across_currencies_is_refused_with_a_way_to_split_it(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        result = await client.call_tool(
            "query_metrics", {"metrics": ["gross_sales"], "group_by": ["metric_time__week"]}
        )
    assert result.is_error
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert "different currencies" in text and "location__name" in text


async def test_order_count_by_week_adds_up_to_the_completed_orders_with_a_sales_line(
    shop_db: Path, raw_shop: RawMerchant
) -> None:
    async with Client(build_server(shop_db)) as client:
        result = await client.call_tool(
            "query_metrics", {"metrics": '["order_count"]', "group_by": "metric_time__week"}
        )
    assert not result.is_error, result.content
    data = result.structured_content
    assert data is not None
    expected = sum(
        1
        for order in raw_shop.orders
        if order.get("state") == "COMPLETED"
        and any(li.get("item_type") != "GIFT_CARD" for li in order.get("line_items", []))
    )
    assert sum(int(row[data["columns"].index("order_count")]) for row in data["rows"]) == expected


async def test_list_metrics_names_the_catalogue_and_finds_metrics_by_synonym(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        everything = await client.call_tool("list_metrics", {})
        revenue = await client.call_tool("list_metrics", {"search": "revenue"})
    assert everything.structured_content is not None and revenue.structured_content is not None
    assert {m["name"] for m in everything.structured_content["metrics"]} >= {"gross_sales", "order_count"}
    found = [m["name"] for m in revenue.structured_content["metrics"]]
    assert "gross_sales" in found and "order_count" not in found


async def test_every_tool_but_run_sync_is_marked_read_only(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= {"list_metrics", "query_metrics", "sync_status", "run_sync"}
    read_only = {name for name, t in tools.items() if t.annotations is not None and t.annotations.read_only_hint}
    assert read_only == set(tools) - {"run_sync"}


async def test_an_unknown_metric_is_a_tool_error_that_suggests_the_nearest_name(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        result = await client.call_tool("query_metrics", {"metrics": ["gross_sale"]})
    assert result.is_error
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert "gross_sale" in text and "Did you mean 'gross_sales'" in text


async def test_sql_in_a_dimension_name_is_refused_and_the_database_is_unchanged(shop_db: Path) -> None:
    before = shop_db.stat().st_mtime_ns, shop_db.stat().st_size
    async with Client(build_server(shop_db)) as client:
        result = await client.call_tool(
            "query_metrics",
            {"metrics": ["gross_sales"], "group_by": ["location__name; DROP TABLE fct_order_line_item"]},
        )
        after_call = await client.call_tool("query_metrics", {"metrics": ["order_count"]})
    assert result.is_error
    assert not after_call.is_error
    assert (shop_db.stat().st_mtime_ns, shop_db.stat().st_size) == before


async def test_a_limit_smaller_than_the_groups_says_limit_hit(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        result = await client.call_tool(
            "query_metrics", {"metrics": ["order_count"], "group_by": ["metric_time__day"], "limit": 3}
        )
    data = result.structured_content
    assert data is not None
    assert data["row_count"] == 3 and data["limit_hit"] is True


async def test_a_missing_warehouse_is_a_tool_error_saying_how_to_create_it(tmp_path: Path) -> None:
    async with Client(build_server(tmp_path / "nothing.duckdb")) as client:
        result = await client.call_tool("query_metrics", {"metrics": ["gross_sales"]})
    assert result.is_error
    assert "square-bi sync" in " ".join(getattr(block, "text", "") for block in result.content)


async def test_answers_come_from_the_published_snapshot_which_a_reader_cannot_write(shop_db: Path) -> None:
    from square_bi.warehouse.snapshot import open_snapshot

    con = open_snapshot(shop_db)
    try:
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM fct_order_line_item")
    finally:
        con.close()
