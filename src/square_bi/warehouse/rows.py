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
    "JSON": pa.string(),
}


@cache
def arrow_schema(table: staging.StagingTable) -> pa.Schema:
    return pa.schema([(name, _ARROW_TYPES[type_.replace(" NOT NULL", "")]) for name, type_ in table.columns])


def _table(table: staging.StagingTable, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(table)
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def _amount(money: r.Money | None) -> int | None:
    return money.amount if money is not None else None


def _raw(obj: dict[str, Any]) -> str:
    """Square's JSON for the ``raw`` column, compact (orjson: a tenth of ``json.dumps``'s time)."""
    return orjson.dumps(obj).decode()


def location_rows(locations: Sequence[r.Location], raw: Sequence[dict[str, Any]], synced_at: datetime) -> pa.Table:
    return _table(
        staging.LOCATIONS,
        [
            {
                "id": loc.id,
                "name": loc.name,
                "business_name": loc.business_name,
                "timezone": loc.timezone,
                "currency": loc.currency,
                "status": loc.status,
                "country": loc.country,
                "city": loc.address.locality if loc.address else None,
                "created_at": loc.created_at,
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for loc, obj in zip(locations, raw, strict=True)
        ],
    )


def _catalog_row(obj: r.CatalogObject, raw: dict[str, Any], synced_at: datetime) -> dict[str, Any]:
    name = item_id = category_id = currency = None
    price: int | None = None
    if obj.item_data is not None:
        name = obj.item_data.name
        category_id = obj.item_data.category_id
        if category_id is None and obj.item_data.categories:
            category_id = obj.item_data.categories[0].get("id")
    elif obj.item_variation_data is not None:
        name = obj.item_variation_data.name
        item_id = obj.item_variation_data.item_id
        price = _amount(obj.item_variation_data.price_money)
        currency = obj.item_variation_data.price_money.currency if obj.item_variation_data.price_money else None
    elif obj.category_data is not None:
        name = obj.category_data.name
    return {
        "id": obj.id,
        "type": obj.type,
        "version": obj.version,
        "is_deleted": bool(obj.is_deleted),
        "updated_at": obj.updated_at,
        "name": name,
        "item_id": item_id,
        "category_id": category_id,
        "price_amount": price,
        "price_currency": currency,
        "raw": _raw(raw),
        "_synced_at": synced_at,
    }


def catalog_rows(objects: Sequence[r.CatalogObject], raw: Sequence[dict[str, Any]], synced_at: datetime) -> pa.Table:
    return _table(staging.CATALOG_OBJECTS, [_catalog_row(o, j, synced_at) for o, j in zip(objects, raw, strict=True)])


def _tax_split(applied: Sequence[r.AppliedMoney], taxes: dict[str, str | None]) -> tuple[int, int]:
    """(additive, inclusive) tax of one line, from its applied taxes and the order's tax types."""
    additive = inclusive = 0
    for tax in applied:
        amount = _amount(tax.applied_money) or 0
        if taxes.get(tax.tax_uid or "") == "INCLUSIVE":
            inclusive += amount
        else:
            additive += amount
    return additive, inclusive


def _modifiers_amount(modifiers: Sequence[r.LineModifier]) -> int:
    return sum(_amount(m.total_price_money) or 0 for m in modifiers)


def _currency(*monies: r.Money | None, default: str | None = None) -> str | None:
    return next((m.currency for m in monies if m is not None and m.currency), default)


def _tuples_table(table: staging.StagingTable, rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows given as tuples in the staging table's column order, transposed into Arrow columns.

    The bulk path for the big streams: a tuple per row and one ``pa.array`` per column cost about
    half of a dict per row read back by name."""
    schema = arrow_schema(table)
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    if len(columns) != len(schema):
        raise ValueError(f"{table.name}: rows have {len(columns)} values, the table {len(schema)} columns")
    return pa.Table.from_arrays(
        [pa.array(column, type=field.type) for column, field in zip(columns, schema, strict=True)], schema=schema
    )


def order_rows(
    orders: Sequence[r.Order], raw: Sequence[dict[str, Any]], synced_at: datetime
) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """(orders, line items, return line items, tenders) for one page.

    Each tuple lists its table's columns in ``staging``'s order (``_tuples_table`` checks the
    count; tests/warehouse/test_rows.py checks the values against Square's JSON)."""
    order_tuples: list[tuple[Any, ...]] = []
    line_tuples: list[tuple[Any, ...]] = []
    return_tuples: list[tuple[Any, ...]] = []
    tender_tuples: list[tuple[Any, ...]] = []
    for order, order_json in zip(orders, raw, strict=True):
        order_id = order.id
        currency = _currency(order.total_money)
        order_tuples.append(
            (
                order_id,
                order.location_id,
                order.state,
                order.version,
                order.created_at,
                order.updated_at,
                order.closed_at,
                order.source.name if order.source is not None else None,
                order.customer_id,
                currency,
                _amount(order.total_money),
                _amount(order.total_tax_money),
                _amount(order.total_discount_money),
                _amount(order.total_tip_money),
                _amount(order.total_service_charge_money),
                _raw(order_json),
                synced_at,
            )
        )
        tax_types = {tax.uid: tax.type for tax in order.taxes}
        for line in order.line_items:
            additive, inclusive = _tax_split(line.applied_taxes, tax_types)
            gross, total, base = line.gross_sales_money, line.total_money, line.base_price_money
            line_tuples.append(
                (
                    order_id,
                    line.uid,
                    line.catalog_object_id,
                    line.catalog_version,
                    line.name,
                    line.variation_name,
                    line.item_type or "ITEM",
                    line.quantity,
                    _currency(gross, total, base, default=currency),
                    _amount(base),
                    _amount(line.variation_total_price_money),
                    _amount(gross),
                    _modifiers_amount(line.modifiers),
                    _amount(line.total_discount_money),
                    _amount(line.total_tax_money),
                    additive,
                    inclusive,
                    _amount(total),
                )
            )
        for order_return in order.returns:
            return_tax_types = {tax.uid: tax.type for tax in order_return.return_taxes}
            for item in order_return.return_line_items:
                additive, inclusive = _tax_split(item.applied_taxes, return_tax_types)
                return_tuples.append(
                    (
                        order_id,
                        item.uid,
                        order_return.uid,
                        order_return.source_order_id,
                        item.source_line_item_uid,
                        item.catalog_object_id,
                        item.name,
                        item.variation_name,
                        item.item_type or "ITEM",
                        item.quantity,
                        _currency(item.gross_return_money, item.total_money, default=currency),
                        _amount(item.base_price_money),
                        _amount(item.variation_total_price_money),
                        _amount(item.gross_return_money),
                        _modifiers_amount(item.return_modifiers),
                        _amount(item.total_discount_money),
                        _amount(item.total_tax_money),
                        additive,
                        inclusive,
                        _amount(item.total_money),
                    )
                )
        for tender in order.tenders:
            card = tender.card_details.card if tender.card_details and tender.card_details.card else {}
            tender_tuples.append(
                (
                    order_id,
                    tender.id,
                    tender.type,
                    _currency(tender.amount_money, default=currency),
                    _amount(tender.amount_money),
                    _amount(tender.tip_money) or 0,
                    _amount(tender.processing_fee_money),
                    card.get("card_brand"),
                    tender.payment_id,
                    tender.customer_id,
                )
            )
    return (
        _tuples_table(staging.ORDERS, order_tuples),
        _tuples_table(staging.ORDER_LINE_ITEMS, line_tuples),
        _tuples_table(staging.ORDER_RETURN_LINE_ITEMS, return_tuples),
        _tuples_table(staging.ORDER_TENDERS, tender_tuples),
    )


def _fee(fees: Sequence[r.ProcessingFee]) -> int | None:
    return sum(_amount(f.amount_money) or 0 for f in fees) if fees else None


def payment_rows(payments: Sequence[r.Payment], raw: Sequence[dict[str, Any]], synced_at: datetime) -> pa.Table:
    return _table(
        staging.PAYMENTS,
        [
            {
                "id": p.id,
                "location_id": p.location_id,
                "order_id": p.order_id,
                "customer_id": p.customer_id,
                "team_member_id": p.team_member_id,
                "status": p.status,
                "source_type": p.source_type,
                "card_brand": (p.card_details.card or {}).get("card_brand") if p.card_details else None,
                "created_at": p.created_at,
                "updated_at": p.updated_at,
                "currency": _currency(p.amount_money, p.total_money),
                "amount": _amount(p.amount_money),
                "tip_amount": _amount(p.tip_money) or 0,
                "total_amount": _amount(p.total_money),
                "refunded_amount": _amount(p.refunded_money) or 0,
                "processing_fee_amount": _fee(p.processing_fee),
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for p, obj in zip(payments, raw, strict=True)
        ],
    )


def refund_rows(refunds: Sequence[r.PaymentRefund], raw: Sequence[dict[str, Any]], synced_at: datetime) -> pa.Table:
    return _table(
        staging.REFUNDS,
        [
            {
                "id": f.id,
                "location_id": f.location_id,
                "payment_id": f.payment_id,
                "order_id": f.order_id,
                "team_member_id": f.team_member_id,
                "status": f.status,
                "reason": f.reason,
                "created_at": f.created_at,
                "updated_at": f.updated_at,
                "currency": _currency(f.amount_money),
                "amount": _amount(f.amount_money),
                "processing_fee_amount": _fee(f.processing_fee),
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for f, obj in zip(refunds, raw, strict=True)
        ],
    )


def customer_rows(customers: Sequence[r.Customer], raw: Sequence[dict[str, Any]], synced_at: datetime) -> pa.Table:
    return _table(
        staging.CUSTOMERS,
        [
            {
                "id": c.id,
                "version": c.version,
                "created_at": c.created_at,
                "updated_at": c.updated_at,
                "given_name": c.given_name,
                "family_name": c.family_name,
                "company_name": c.company_name,
                "email_address": c.email_address,
                "creation_source": c.creation_source,
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for c, obj in zip(customers, raw, strict=True)
        ],
    )


def team_member_rows(members: Sequence[r.TeamMember], raw: Sequence[dict[str, Any]], synced_at: datetime) -> pa.Table:
    return _table(
        staging.TEAM_MEMBERS,
        [
            {
                "id": m.id,
                "status": m.status,
                "is_owner": m.is_owner,
                "given_name": m.given_name,
                "family_name": m.family_name,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
                "raw": _raw(obj),
                "_synced_at": synced_at,
            }
            for m, obj in zip(members, raw, strict=True)
        ],
    )
