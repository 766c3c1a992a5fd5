"""Order rows, built column by column, say what Square's JSON says.

Expectations are read here straight from the demo merchant's API answers (``raw_shop``), by hand,
never from the code under test."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from shop_support import RawMerchant
from square_bi.extract.records import Order, validate_record
from square_bi.warehouse import rows, staging

SYNCED_AT = datetime(2026, 11, 3, 12, 0)


@pytest.fixture(scope="module")
def order_tables(raw_shop: RawMerchant) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    records = [validate_record(Order, order) for order in raw_shop.orders]
    return rows.order_rows(records, raw_shop.orders, SYNCED_AT)


def _amount(obj: dict[str, Any], field: str) -> int | None:
    money = obj.get(field)
    return None if money is None else int(money["amount"])


def _by_key(table: pa.Table, *key: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[k] for k in key): row for row in table.to_pylist()}


def test_every_table_has_its_staging_columns_in_order(
    order_tables: tuple[pa.Table, pa.Table, pa.Table, pa.Table],
) -> None:
    expected = (staging.ORDERS, staging.ORDER_LINE_ITEMS, staging.ORDER_RETURN_LINE_ITEMS, staging.ORDER_TENDERS)
    for table, staged in zip(order_tables, expected, strict=True):
        assert table.schema.names == [name for name, _ in staged.columns]


def test_each_order_row_carries_its_json_and_integer_totals(
    raw_shop: RawMerchant, order_tables: tuple[pa.Table, pa.Table, pa.Table, pa.Table]
) -> None:
    built = _by_key(order_tables[0], "id")
    assert len(built) == len(raw_shop.orders)
    for order in raw_shop.orders:
        row = built[(order["id"],)]
        assert row["location_id"] == order["location_id"]
        assert row["version"] == order.get("version")
        assert row["state"] == order.get("state")
        assert row["total_amount"] == _amount(order, "total_money")
        assert row["total_tax_amount"] == _amount(order, "total_tax_money")
        assert row["total_tip_amount"] == _amount(order, "total_tip_money")
        assert row["currency"] == order["total_money"]["currency"]
        assert json.loads(row["raw"]) == order  # whole, unknown fields included
        assert row["_synced_at"].replace(tzinfo=None) == SYNCED_AT


def test_each_line_item_row_says_what_its_json_says(
    raw_shop: RawMerchant, order_tables: tuple[pa.Table, pa.Table, pa.Table, pa.Table]
) -> None:
    built = _by_key(order_tables[1], "order_id", "uid")
    expected_count = 0
    for order in raw_shop.orders:
        tax_types = {tax["uid"]: tax.get("type") for tax in order.get("taxes", [])}
        for line in order.get("line_items", []):
            expected_count += 1
            row = built[(order["id"], line["uid"])]
            inclusive = sum(
                t["applied_money"]["amount"]
                for t in line.get("applied_taxes", [])
                if tax_types.get(t["tax_uid"]) == "INCLUSIVE"
            )
            all_taxes = sum(t["applied_money"]["amount"] for t in line.get("applied_taxes", []))
            assert row["quantity"] == Decimal(line["quantity"])
            assert row["name"] == line.get("name")
            assert row["catalog_object_id"] == line.get("catalog_object_id")
            assert row["item_type"] == line.get("item_type", "ITEM")
            assert row["currency"] == line["gross_sales_money"]["currency"]
            assert row["gross_sales_amount"] == _amount(line, "gross_sales_money")
            assert row["base_price_amount"] == _amount(line, "base_price_money")
            assert row["total_discount_amount"] == _amount(line, "total_discount_money")
            assert row["total_amount"] == _amount(line, "total_money")
            assert row["modifiers_amount"] == sum(m["total_price_money"]["amount"] for m in line.get("modifiers", []))
            assert (row["additive_tax_amount"], row["inclusive_tax_amount"]) == (all_taxes - inclusive, inclusive)
    assert expected_count > 0
    assert len(built) == expected_count


def test_return_line_items_and_tenders_come_from_their_orders(
    raw_shop: RawMerchant, order_tables: tuple[pa.Table, pa.Table, pa.Table, pa.Table]
) -> None:
    returns = _by_key(order_tables[2], "order_id", "uid")
    tenders = _by_key(order_tables[3], "order_id", "tender_id")
    expected_returns = expected_tenders = 0
    for order in raw_shop.orders:
        for order_return in order.get("returns", []):
            for item in order_return.get("return_line_items", []):
                expected_returns += 1
                row = returns[(order["id"], item["uid"])]
                assert row["source_order_id"] == order_return.get("source_order_id")
                assert row["quantity"] == Decimal(item["quantity"])
                assert row["gross_return_amount"] == _amount(item, "gross_return_money")
                assert row["total_amount"] == _amount(item, "total_money")
        for tender in order.get("tenders", []):
            expected_tenders += 1
            row = tenders[(order["id"], tender["id"])]
            assert row["type"] == tender.get("type")
            assert row["amount"] == _amount(tender, "amount_money")
            assert row["tip_amount"] == (_amount(tender, "tip_money") or 0)
            assert row["card_brand"] == tender.get("card_details", {}).get("card", {}).get("card_brand")
    assert expected_returns > 0 and expected_tenders > 0
    assert (len(returns), len(tenders)) == (expected_returns, expected_tenders)


def test_an_empty_page_gives_empty_tables_with_the_staging_schema() -> None:
    tables = rows.order_rows([], [], SYNCED_AT)
    assert [t.num_rows for t in tables] == [0, 0, 0, 0]
    assert tables[1].schema == rows.arrow_schema(staging.ORDER_LINE_ITEMS)


def test_a_pages_columns_come_from_the_system_allocator_not_pyarrows_default(raw_shop: RawMerchant) -> None:
    records = [validate_record(Order, order) for order in raw_shop.orders]
    system_before = rows.ARROW_POOL.bytes_allocated()
    default_before = pa.default_memory_pool().bytes_allocated()
    tables = rows.order_rows(records, raw_shop.orders, SYNCED_AT)
    raw_bytes = sum(len(json.dumps(order)) for order in raw_shop.orders) // 2  # compact JSON is shorter
    assert rows.ARROW_POOL.bytes_allocated() - system_before > raw_bytes
    assert pa.default_memory_pool().bytes_allocated() == default_before
    del tables
