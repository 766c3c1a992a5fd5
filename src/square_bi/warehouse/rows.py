"""Validated Square records to Arrow tables shaped like the staging tables (the bulk path)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import orjson
import pyarrow as pa

from square_bi.extract import records as r
from square_bi.warehouse import staging

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),  # DuckDB stores it as UTC TIMESTAMP (session zone UTC)
    "DECIMAL(18,5)": pa.decimal128(18, 5),
    "JSON": pa.json_(pa.string()),
}
"""``JSON`` columns arrive as Arrow's JSON extension type: DuckDB takes such text as ``JSON`` without
parsing each document again to check it (60k orders' ``raw``: 0.29 instead of 0.51 writer CPU-s).
The text is JSON already: Square's own bytes, whose syntax ``client.request_objects`` checked, or
our ``orjson`` serialisation of parsed JSON."""


ARROW_POOL = pa.system_memory_pool()
"""Where the bulk path allocates its Arrow columns: the C library's allocator, not pyarrow's default
(mimalloc), which kept the memory of pages already written for reuse. A 141k-order backfill peaked
at 428 MB of RSS instead of 465-470 MB in 1,000-order pages, and at 427 instead of 440-441 MB in
100-order pages (alternating runs), at the same speed."""


@cache
def arrow_schema(table: staging.StagingTable) -> pa.Schema:
    return pa.schema([(name, _ARROW_TYPES[type_.replace(" NOT NULL", "")]) for name, type_ in table.columns])


def _columns_table(schema: pa.Schema, columns: Sequence[Sequence[Any]]) -> pa.Table:
    """One Python sequence per column of ``schema``, in its order, as an Arrow table (from ARROW_POOL)."""
    return pa.Table.from_arrays(
        [
            pa.array(column, type=field.type, memory_pool=ARROW_POOL)
            for column, field in zip(columns, schema, strict=True)
        ],
        schema=schema,
    )


def _table(table: staging.StagingTable, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(table)
    return _columns_table(schema, [[row.get(name) for row in rows] for name in schema.names])


def _amount(money: r.Money | None) -> int | None:
    return money.get("amount", 0) if money is not None else None


def _raw(obj: r.JsonObject) -> str:
    """Square's JSON for the ``raw`` column: its text as it arrived, or parsed JSON serialised
    compactly (orjson: a tenth of ``json.dumps``'s time)."""
    return obj if isinstance(obj, str) else orjson.dumps(obj).decode()


def location_rows(locations: Sequence[r.Location], raw: Sequence[r.JsonObject], synced_at: datetime) -> pa.Table:
    return _table(
        staging.LOCATIONS,
        [
            {
                "id": loc["id"],
                "name": loc.get("name"),
                "business_name": loc.get("business_name"),
                "timezone": loc.get("timezone"),
                "currency": loc.get("currency"),
                "status": loc.get("status"),
                "country": loc.get("country"),
                "city": address.get("locality") if (address := loc.get("address")) else None,
                "created_at": loc.get("created_at"),
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for loc, obj in zip(locations, raw, strict=True)
        ],
    )


def _catalog_row(obj: r.CatalogObject, raw: r.JsonObject, synced_at: datetime) -> dict[str, Any]:
    name = item_id = category_id = currency = None
    price: int | None = None
    if (item := obj.get("item_data")) is not None:
        name = item.get("name")
        category_id = item.get("category_id")
        if category_id is None and (categories := item.get("categories")):
            category_id = categories[0].get("id")
    elif (variation := obj.get("item_variation_data")) is not None:
        name = variation.get("name")
        item_id = variation.get("item_id")
        price_money = variation.get("price_money")
        price = _amount(price_money)
        currency = price_money.get("currency") if price_money else None
    elif (category := obj.get("category_data")) is not None:
        name = category.get("name")
    return {
        "id": obj["id"],
        "type": obj["type"],
        "version": obj.get("version"),
        "is_deleted": bool(obj.get("is_deleted")),
        "updated_at": obj.get("updated_at"),
        "name": name,
        "item_id": item_id,
        "category_id": category_id,
        "price_amount": price,
        "price_currency": currency,
        "raw": _raw(raw),
        "_synced_at": synced_at,
    }


def catalog_rows(objects: Sequence[r.CatalogObject], raw: Sequence[r.JsonObject], synced_at: datetime) -> pa.Table:
    return _table(staging.CATALOG_OBJECTS, [_catalog_row(o, j, synced_at) for o, j in zip(objects, raw, strict=True)])


def _tax_split(applied: Sequence[r.AppliedMoney], taxes: dict[str, str | None]) -> tuple[int, int]:
    """(additive, inclusive) tax of one line, from its applied taxes and the order's tax types."""
    additive = inclusive = 0
    for tax in applied:
        amount = _amount(tax.get("applied_money")) or 0
        if taxes.get(tax.get("tax_uid") or "") == "INCLUSIVE":
            inclusive += amount
        else:
            additive += amount
    return additive, inclusive


def _modifiers_amount(modifiers: Sequence[r.LineModifier]) -> int:
    return sum(_amount(m.get("total_price_money")) or 0 for m in modifiers)


def _currency(*monies: r.Money | None, default: str | None = None) -> str | None:
    """The first of ``monies`` with a currency, else ``default``. (A loop: called for every order,
    line and tender, a generator under ``next`` cost 8% of ``order_rows``.)"""
    for money in monies:
        if money is not None and (currency := money.get("currency")):
            return currency
    return default


def _tuples_table(table: staging.StagingTable, rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows given as tuples in the staging table's column order, transposed into Arrow columns.

    The bulk path for the big streams: a tuple per row and one ``pa.array`` per column cost about
    half of a dict per row read back by name."""
    schema = arrow_schema(table)
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    if len(columns) != len(schema):
        raise ValueError(f"{table.name}: rows have {len(columns)} values, the table {len(schema)} columns")
    return _columns_table(schema, columns)


def order_rows(
    orders: Sequence[r.Order], raw: Sequence[r.JsonObject], synced_at: datetime
) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """(orders, line items, return line items, tenders) for one page.

    Each tuple lists its table's columns in ``staging``'s order (``_tuples_table`` checks the
    count; tests/warehouse/test_rows.py checks the values against Square's JSON)."""
    order_tuples: list[tuple[Any, ...]] = []
    line_tuples: list[tuple[Any, ...]] = []
    return_tuples: list[tuple[Any, ...]] = []
    tender_tuples: list[tuple[Any, ...]] = []
    for order, order_json in zip(orders, raw, strict=True):
        order_id = order["id"]
        total_money = order.get("total_money")
        currency = _currency(total_money)
        source = order.get("source")
        order_tuples.append(
            (
                order_id,
                order["location_id"],
                order.get("state"),
                order.get("version"),
                order.get("created_at"),
                order.get("updated_at"),
                order.get("closed_at"),
                source.get("name") if source is not None else None,
                order.get("customer_id"),
                currency,
                _amount(total_money),
                _amount(order.get("total_tax_money")),
                _amount(order.get("total_discount_money")),
                _amount(order.get("total_tip_money")),
                _amount(order.get("total_service_charge_money")),
                _raw(order_json),
                synced_at,
            )
        )
        tax_types = {tax["uid"]: tax.get("type") for tax in order.get("taxes", ())}
        for line in order.get("line_items", ()):
            additive, inclusive = _tax_split(line.get("applied_taxes", ()), tax_types)
            gross, total, base = line.get("gross_sales_money"), line.get("total_money"), line.get("base_price_money")
            line_tuples.append(
                (
                    order_id,
                    line["uid"],
                    line.get("catalog_object_id"),
                    line.get("catalog_version"),
                    line.get("name"),
                    line.get("variation_name"),
                    line.get("item_type") or "ITEM",
                    line["quantity"],
                    _currency(gross, total, base, default=currency),
                    _amount(base),
                    _amount(line.get("variation_total_price_money")),
                    _amount(gross),
                    _modifiers_amount(line.get("modifiers", ())),
                    _amount(line.get("total_discount_money")),
                    _amount(line.get("total_tax_money")),
                    additive,
                    inclusive,
                    _amount(total),
                )
            )
        for order_return in order.get("returns", ()):
            return_tax_types = {tax["uid"]: tax.get("type") for tax in order_return.get("return_taxes", ())}
            for item in order_return.get("return_line_items", ()):
                additive, inclusive = _tax_split(item.get("applied_taxes", ()), return_tax_types)
                gross_return, item_total = item.get("gross_return_money"), item.get("total_money")
                return_tuples.append(
                    (
                        order_id,
                        item["uid"],
                        order_return.get("uid"),
                        order_return.get("source_order_id"),
                        item.get("source_line_item_uid"),
                        item.get("catalog_object_id"),
                        item.get("name"),
                        item.get("variation_name"),
                        item.get("item_type") or "ITEM",
                        item["quantity"],
                        _currency(gross_return, item_total, default=currency),
                        _amount(item.get("base_price_money")),
                        _amount(item.get("variation_total_price_money")),
                        _amount(gross_return),
                        _modifiers_amount(item.get("return_modifiers", ())),
                        _amount(item.get("total_discount_money")),
                        _amount(item.get("total_tax_money")),
                        additive,
                        inclusive,
                        _amount(item_total),
                    )
                )
        for tender in order.get("tenders", ()):
            details = tender.get("card_details")
            card = (details.get("card") or {}) if details else {}
            amount_money = tender.get("amount_money")
            tender_tuples.append(
                (
                    order_id,
                    tender["id"],
                    tender.get("type"),
                    _currency(amount_money, default=currency),
                    _amount(amount_money),
                    _amount(tender.get("tip_money")) or 0,
                    _amount(tender.get("processing_fee_money")),
                    card.get("card_brand"),
                    tender.get("payment_id"),
                    tender.get("customer_id"),
                )
            )
    return (
        _tuples_table(staging.ORDERS, order_tuples),
        _tuples_table(staging.ORDER_LINE_ITEMS, line_tuples),
        _tuples_table(staging.ORDER_RETURN_LINE_ITEMS, return_tuples),
        _tuples_table(staging.ORDER_TENDERS, tender_tuples),
    )


def _fee(fees: Sequence[r.ProcessingFee]) -> int | None:
    return sum(_amount(f.get("amount_money")) or 0 for f in fees) if fees else None


def payment_rows(payments: Sequence[r.Payment], raw: Sequence[r.JsonObject], synced_at: datetime) -> pa.Table:
    return _table(
        staging.PAYMENTS,
        [
            {
                "id": p["id"],
                "location_id": p.get("location_id"),
                "order_id": p.get("order_id"),
                "customer_id": p.get("customer_id"),
                "team_member_id": p.get("team_member_id"),
                "status": p.get("status"),
                "source_type": p.get("source_type"),
                "card_brand": (details.get("card") or {}).get("card_brand")
                if (details := p.get("card_details"))
                else None,
                "created_at": p.get("created_at"),
                "updated_at": p.get("updated_at"),
                "currency": _currency(p.get("amount_money"), p.get("total_money")),
                "amount": _amount(p.get("amount_money")),
                "tip_amount": _amount(p.get("tip_money")) or 0,
                "total_amount": _amount(p.get("total_money")),
                "refunded_amount": _amount(p.get("refunded_money")) or 0,
                "processing_fee_amount": _fee(p.get("processing_fee", ())),
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for p, obj in zip(payments, raw, strict=True)
        ],
    )


def refund_rows(refunds: Sequence[r.PaymentRefund], raw: Sequence[r.JsonObject], synced_at: datetime) -> pa.Table:
    return _table(
        staging.REFUNDS,
        [
            {
                "id": f["id"],
                "location_id": f.get("location_id"),
                "payment_id": f.get("payment_id"),
                "order_id": f.get("order_id"),
                "team_member_id": f.get("team_member_id"),
                "status": f.get("status"),
                "reason": f.get("reason"),
                "created_at": f.get("created_at"),
                "updated_at": f.get("updated_at"),
                "currency": _currency(f.get("amount_money")),
                "amount": _amount(f.get("amount_money")),
                "processing_fee_amount": _fee(f.get("processing_fee", ())),
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for f, obj in zip(refunds, raw, strict=True)
        ],
    )


def customer_rows(customers: Sequence[r.Customer], raw: Sequence[r.JsonObject], synced_at: datetime) -> pa.Table:
    return _table(
        staging.CUSTOMERS,
        [
            {
                "id": c["id"],
                "version": c.get("version"),
                "created_at": c.get("created_at"),
                "updated_at": c.get("updated_at"),
                "given_name": c.get("given_name"),
                "family_name": c.get("family_name"),
                "company_name": c.get("company_name"),
                "email_address": c.get("email_address"),
                "creation_source": c.get("creation_source"),
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for c, obj in zip(customers, raw, strict=True)
        ],
    )


def team_member_rows(members: Sequence[r.TeamMember], raw: Sequence[r.JsonObject], synced_at: datetime) -> pa.Table:
    return _table(
        staging.TEAM_MEMBERS,
        [
            {
                "id": m["id"],
                "status": m.get("status"),
                "is_owner": m.get("is_owner"),
                "given_name": m.get("given_name"),
                "family_name": m.get("family_name"),
                "created_at": m.get("created_at"),
                "updated_at": m.get("updated_at"),
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for m, obj in zip(members, raw, strict=True)
        ],
    )
