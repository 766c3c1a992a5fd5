"""Validated Square records to Arrow tables shaped like the staging tables (the bulk path)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from square_bi.extract import records as r
from square_bi.warehouse import staging

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "DECIMAL(18,5)": pa.decimal128(18, 5),
    "JSON": pa.string(),
}


def arrow_schema(table: staging.StagingTable) -> pa.Schema:
    return pa.schema([(name, _ARROW_TYPES[type_.replace(" NOT NULL", "")]) for name, type_ in table.columns])


def _table(table: staging.StagingTable, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(table)
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def _amount(money: r.Money | None) -> int | None:
    return None if money is None else money.amount


def _raw(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


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


def order_rows(
    orders: Sequence[r.Order], raw: Sequence[dict[str, Any]], synced_at: datetime
) -> tuple[pa.Table, pa.Table]:
    """(orders, line items) for one page."""
    order_dicts: list[dict[str, Any]] = []
    line_dicts: list[dict[str, Any]] = []
    for order, order_json in zip(orders, raw, strict=True):
        currency = order.total_money.currency if order.total_money else None
        order_dicts.append(
            {
                "id": order.id,
                "location_id": order.location_id,
                "state": order.state,
                "version": order.version,
                "created_at": order.created_at,
                "updated_at": order.updated_at,
                "closed_at": order.closed_at,
                "source_name": order.source.name if order.source else None,
                "customer_id": order.customer_id,
                "currency": currency,
                "total_amount": _amount(order.total_money),
                "total_tax_amount": _amount(order.total_tax_money),
                "total_discount_amount": _amount(order.total_discount_money),
                "total_tip_amount": _amount(order.total_tip_money),
                "total_service_charge_amount": _amount(order.total_service_charge_money),
                "raw": _raw(order_json),
                "_synced_at": synced_at,
            }
        )
        for line in order.line_items:
            line_currency = next(
                (m.currency for m in (line.gross_sales_money, line.total_money, line.base_price_money) if m),
                currency,
            )
            line_dicts.append(
                {
                    "order_id": order.id,
                    "uid": line.uid,
                    "catalog_object_id": line.catalog_object_id,
                    "catalog_version": line.catalog_version,
                    "name": line.name,
                    "variation_name": line.variation_name,
                    "item_type": line.item_type or "ITEM",
                    "quantity": line.quantity,
                    "currency": line_currency,
                    "base_price_amount": _amount(line.base_price_money),
                    "variation_total_price_amount": _amount(line.variation_total_price_money),
                    "gross_sales_amount": _amount(line.gross_sales_money),
                    "total_discount_amount": _amount(line.total_discount_money),
                    "total_tax_amount": _amount(line.total_tax_money),
                    "total_amount": _amount(line.total_money),
                }
            )
    return _table(staging.ORDERS, order_dicts), _table(staging.ORDER_LINE_ITEMS, line_dicts)
