"""The star schema reproduces Square's sales numbers to the cent, per location and business day.

Expectations are computed here from the demo merchant's raw API JSON by the definitions in
docs/data-model.md, in Python with zoneinfo: never from our own tables or SQL.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from shop_support import RawMerchant
from square_bi.extract.records import Location, Order, validate_record
from square_bi.warehouse import rows
from square_bi.warehouse.load import upsert
from square_bi.warehouse.staging import LOCATIONS, ORDER_LINE_ITEMS, ORDER_RETURN_LINE_ITEMS, ORDER_TENDERS, ORDERS
from square_bi.warehouse.star import build_star_schema, initialize

MEASURES = ("gross_sales", "returns", "discounts", "net_sales", "taxes", "tips")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def expected_by_location_day(raw: RawMerchant) -> dict[tuple[str, date], dict[str, int]]:
    zones = {loc["id"]: ZoneInfo(loc["timezone"]) for loc in raw.locations}
    out: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for order in raw.orders:
        if order.get("state") != "COMPLETED":
            continue
        day = _utc(order["closed_at"]).astimezone(zones[order["location_id"]]).date()
        sums = out[(order["location_id"], day)]
        for line in order.get("line_items", []):
            if line.get("item_type") == "GIFT_CARD":
                continue
            sums["gross_sales"] += line["gross_sales_money"]["amount"]
            sums["discounts"] += line.get("total_discount_money", {}).get("amount", 0)
            sums["taxes"] += line.get("total_tax_money", {}).get("amount", 0)
        for order_return in order.get("returns", []):
            for item in order_return.get("return_line_items", []):
                if item.get("item_type") == "GIFT_CARD":
                    continue
                sums["returns"] += item["gross_return_money"]["amount"]
                sums["discounts"] -= item.get("total_discount_money", {}).get("amount", 0)
                sums["taxes"] -= item.get("total_tax_money", {}).get("amount", 0)
        sums["tips"] += order.get("total_tip_money", {}).get("amount", 0)
    for sums in out.values():
        sums["net_sales"] = sums["gross_sales"] - sums["returns"] - sums["discounts"]
    return dict(out)


STAR_SQL = """
WITH lines AS (
    SELECT location_id, business_date,
           sum(gross_sales_amount) FILTER (WHERE NOT is_return) AS gross_sales,
           -sum(gross_sales_amount) FILTER (WHERE is_return) AS returns,
           sum(discount_amount) AS discounts,
           sum(net_sales_amount) AS net_sales,
           sum(tax_amount) AS taxes
    FROM fct_order_line_item GROUP BY ALL
),
tips AS (
    SELECT location_id, business_date, sum(tip_amount) AS tips
    FROM fct_order WHERE order_state = 'COMPLETED' GROUP BY ALL
)
SELECT coalesce(l.location_id, t.location_id), coalesce(l.business_date, t.business_date),
       coalesce(gross_sales, 0), coalesce(returns, 0), coalesce(discounts, 0), coalesce(net_sales, 0),
       coalesce(taxes, 0), coalesce(tips, 0)
FROM lines AS l FULL JOIN tips AS t USING (location_id, business_date)
"""


def star_by_location_day(db: Path) -> dict[tuple[str, date], dict[str, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            (location, day): dict(zip(MEASURES, (int(v) for v in values), strict=True))
            for location, day, *values in con.execute(STAR_SQL).fetchall()
        }


def test_sales_numbers_per_location_and_business_day_equal_squares_definitions_to_the_cent(
    shop_db: Path, raw_shop: RawMerchant
) -> None:
    expected = expected_by_location_day(raw_shop)
    assert star_by_location_day(shop_db) == expected
    # The data really exercises every definition.
    totals = {m: sum(v[m] for v in expected.values()) for m in MEASURES}
    assert all(totals[m] != 0 for m in MEASURES), totals


def test_the_demo_data_has_returns_inclusive_and_additive_taxes_gift_cards_and_unfinished_orders(
    raw_shop: RawMerchant, shop_db: Path
) -> None:
    states = {o.get("state") for o in raw_shop.orders}
    item_types = {li.get("item_type") for o in raw_shop.orders for li in o.get("line_items", [])}
    with duckdb.connect(str(shop_db), read_only=True) as con:
        (inclusive, additive) = con.execute(
            "SELECT sum(inclusive_tax_amount), sum(additive_tax_amount) FROM fct_order_line_item"
        ).fetchone() or (0, 0)
    assert {"COMPLETED", "CANCELED"} <= states
    assert "GIFT_CARD" in item_types
    assert any(o.get("returns") for o in raw_shop.orders)
    assert inclusive and additive


def test_return_rows_point_at_the_sale_line_they_return(shop_db: Path, raw_shop: RawMerchant) -> None:
    expected = {
        f"{o['id']}:{item['uid']}": f"{ret['source_order_id']}:{item['source_line_item_uid']}"
        for o in raw_shop.orders
        if o.get("state") == "COMPLETED"
        for ret in o.get("returns", [])
        for item in ret.get("return_line_items", [])
        if item.get("item_type") != "GIFT_CARD"
    }
    with duckdb.connect(str(shop_db), read_only=True) as con:
        found = dict(
            con.execute(
                "SELECT line_item_id, returned_line_item_id FROM fct_order_line_item WHERE is_return"
            ).fetchall()
        )
        sales = con.execute("SELECT line_item_id FROM fct_order_line_item WHERE NOT is_return").fetchall()
    sale_ids = {row[0] for row in sales}
    assert found == expected
    assert set(found.values()) <= sale_ids


def test_every_order_appears_once_in_fct_order_with_its_tender_mix(shop_db: Path, raw_shop: RawMerchant) -> None:
    with duckdb.connect(str(shop_db), read_only=True) as con:
        got = {
            r[0]: (r[1], r[2], r[3])
            for r in con.execute("SELECT order_id, order_state, card_amount, cash_amount FROM fct_order").fetchall()
        }
    expected = {}
    for order in raw_shop.orders:
        card = sum(t["amount_money"]["amount"] for t in order.get("tenders", []) if t.get("type") == "CARD")
        cash = sum(t["amount_money"]["amount"] for t in order.get("tenders", []) if t.get("type") == "CASH")
        expected[order["id"]] = (order["state"], card, cash)
    assert got == expected


def test_dim_date_covers_every_business_date_of_the_facts(shop_db: Path) -> None:
    with duckdb.connect(str(shop_db), read_only=True) as con:
        missing = con.execute(
            "SELECT count(*) FROM fct_order f LEFT JOIN dim_date d ON d.date_day = f.business_date "
            "WHERE d.date_day IS NULL"
        ).fetchone()
    assert missing == (0,)


def _order(order_id: str, closed_at: str, location_id: str = "LA") -> dict[str, Any]:
    money = {"amount": 500, "currency": "USD"}
    return {
        "id": order_id,
        "location_id": location_id,
        "state": "COMPLETED",
        "version": 1,
        "created_at": closed_at,
        "updated_at": closed_at,
        "closed_at": closed_at,
        "line_items": [{"uid": "L1", "quantity": "1", "gross_sales_money": money, "total_money": money}],
        "total_money": money,
    }


@pytest.mark.parametrize(
    ("closed_at", "local_day", "local_hour"),
    [
        ("2026-03-08T09:30:00Z", date(2026, 3, 8), 1),  # 01:30 PST, half an hour before clocks spring forward
        ("2026-03-08T10:30:00Z", date(2026, 3, 8), 3),  # 03:30 PDT: 02:xx does not exist that night
        ("2026-03-08T07:59:59Z", date(2026, 3, 7), 23),  # still the evening before, in PST
        ("2026-11-01T08:30:00Z", date(2026, 11, 1), 1),  # 01:30 PDT, the first of two 01:30s
        ("2026-11-01T09:30:00Z", date(2026, 11, 1), 1),  # 01:30 PST, the second one
        ("2026-11-02T07:30:00.123Z", date(2026, 11, 1), 23),  # 23:30 PST; a fixed -07:00 would say Nov 2
    ],
)
def test_business_date_and_hour_follow_the_locations_clock_across_dst_changes(
    tmp_path: Path, closed_at: str, local_day: date, local_hour: int
) -> None:
    location = {"id": "LA", "name": "Venice", "timezone": "America/Los_Angeles", "currency": "USD"}
    order = _order("O1", closed_at)
    now = datetime(2026, 12, 1)
    with duckdb.connect(str(tmp_path / "dst.duckdb")) as con:
        initialize(con)
        upsert(con, LOCATIONS, rows.location_rows([validate_record(Location, location)], [location], now))
        orders, lines, returns, tenders = rows.order_rows([validate_record(Order, order)], [order], now)
        children = ((ORDER_LINE_ITEMS, lines), (ORDER_RETURN_LINE_ITEMS, returns), (ORDER_TENDERS, tenders))
        upsert(con, ORDERS, orders, children=children)
        build_star_schema(con)
        got = con.execute("SELECT business_date, business_hour FROM fct_order_line_item").fetchall()
    assert got == [(local_day, local_hour)]
