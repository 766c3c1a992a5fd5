"""A scripted conversation: business questions a shop owner asks, answered through the MCP tools,
each checked against an answer computed independently from the demo merchant's raw API JSON.

"Now" is pinned to the morning after the demo's last day, so relative ranges (last_week, ...)
have data; the merchant's calendar is that of the time zone most of its locations share.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mcp import Client

from shop_support import DEMO_ANCHOR, RawMerchant
from square_bi.server.app import build_server

NOW = DEMO_ANCHOR + timedelta(hours=18)  # 10:00 in Los Angeles on the anchor day
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    """One sales or return line of a COMPLETED order, by Square's definitions (returns negated)."""

    order_id: str
    location: str
    currency: str
    day: date
    hour: int
    weekday: int
    source: str | None
    item: str | None
    category: str | None
    is_return: bool
    quantity: Decimal
    gross: int
    discount: int
    tax: int


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def lines_of(raw: RawMerchant) -> list[Line]:
    locations = {loc["id"]: loc for loc in raw.locations}
    by_id = {obj["id"]: obj for obj in raw.catalog}
    out = []
    for order in raw.orders:
        if order.get("state") != "COMPLETED":
            continue
        loc = locations[order["location_id"]]
        local = _utc(order["closed_at"]).astimezone(ZoneInfo(loc["timezone"]))
        common = {
            "order_id": order["id"],
            "location": loc["name"],
            "currency": loc["currency"],
            "day": local.date(),
            "hour": local.hour,
            "weekday": local.isoweekday(),
            "source": (order.get("source") or {}).get("name"),
        }

        def names(variation_id: str | None) -> tuple[str | None, str | None]:
            variation = by_id.get(variation_id or "")
            if variation is None:
                return None, None
            item = by_id.get(variation["item_variation_data"]["item_id"], {})
            item_data = item.get("item_data", {})
            category_id = item_data.get("category_id") or (item_data.get("categories") or [{}])[0].get("id")
            category = by_id.get(category_id or "", {}).get("category_data", {}).get("name")
            return item_data.get("name"), category

        for li in order.get("line_items", []):
            if li.get("item_type") == "GIFT_CARD":
                continue
            item, category = names(li.get("catalog_object_id"))
            out.append(
                Line(
                    **common,
                    item=item,
                    category=category,
                    is_return=False,
                    quantity=Decimal(li["quantity"]),
                    gross=li["gross_sales_money"]["amount"],
                    discount=li.get("total_discount_money", {}).get("amount", 0),
                    tax=li.get("total_tax_money", {}).get("amount", 0),
                )
            )
        for ret in order.get("returns", []):
            for ri in ret.get("return_line_items", []):
                if ri.get("item_type") == "GIFT_CARD":
                    continue
                item, category = names(ri.get("catalog_object_id"))
                out.append(
                    Line(
                        **common,
                        item=item,
                        category=category,
                        is_return=True,
                        quantity=-Decimal(ri["quantity"]),
                        gross=-ri["gross_return_money"]["amount"],
                        discount=-ri.get("total_discount_money", {}).get("amount", 0),
                        tax=-ri.get("total_tax_money", {}).get("amount", 0),
                    )
                )
    return out


def tips_of(raw: RawMerchant) -> list[tuple[str, date, int]]:
    locations = {loc["id"]: loc for loc in raw.locations}
    out = []
    for order in raw.orders:
        if order.get("state") == "COMPLETED":
            loc = locations[order["location_id"]]
            day = _utc(order["closed_at"]).astimezone(ZoneInfo(loc["timezone"])).date()
            out.append((loc["name"], day, order.get("total_tip_money", {}).get("amount", 0)))
    return out


def money(cents: int) -> str:
    return format(Decimal(cents) * CENT, "f")


def merchant_today(raw: RawMerchant) -> date:
    zones = Counter(loc["timezone"] for loc in raw.locations if loc.get("status", "ACTIVE") == "ACTIVE")
    zone = sorted(zones.items(), key=lambda item: (-item[1], item[0]))[0][0]
    return NOW.astimezone(ZoneInfo(zone)).date()


def group(lines: Iterable[Line], key: Callable[[Line], Any], value: Callable[[list[Line]], Any]) -> dict[Any, Any]:
    buckets: dict[Any, list[Line]] = defaultdict(list)
    for line in lines:
        buckets[key(line)].append(line)
    return {k: value(v) for k, v in buckets.items()}


def net(lines: list[Line]) -> int:
    return sum(line.gross - line.discount for line in lines)


def orders(lines: list[Line]) -> int:
    return len({line.order_id for line in lines if not line.is_return})


def in_range(lines: list[Line], start: date, end: date) -> list[Line]:
    return [line for line in lines if start <= line.day <= end]


@pytest.fixture(scope="module")
def lines(raw_shop: RawMerchant) -> list[Line]:
    return lines_of(raw_shop)


@pytest.fixture(scope="module")
def today(raw_shop: RawMerchant) -> date:
    return merchant_today(raw_shop)


async def ask(db: Path, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    async with Client(build_server(db, clock=lambda: NOW)) as client:
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def table(data: dict[str, Any], key_columns: list[str], value_column: str) -> dict[Any, Any]:
    columns = data["columns"]
    keys = [columns.index(k) for k in key_columns]
    value = columns.index(value_column)
    return {(row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys)): row[value] for row in data["rows"]}


def last_week(today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


async def test_q01_net_sales_last_week_by_location(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db, "query_metrics", {"metrics": ["net_sales"], "group_by": ["location__name"], "time_range": "last_week"}
    )
    start, end = last_week(today)
    assert (data["start"], data["end"]) == (start.isoformat(), end.isoformat())
    expected = group(in_range(lines, start, end), lambda x: x.location, lambda v: money(net(v)))
    assert table(data, ["location__name"], "net_sales") == expected


async def test_q02_top_five_items_by_items_sold_last_month(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db,
        "query_metrics",
        {
            "metrics": ["items_sold"],
            "group_by": ["item__name"],
            "time_range": "last_month",
            "order_by": ["-items_sold"],
            "limit": 5,
        },
    )
    start, end = last_month(today)
    sold = group(
        [x for x in in_range(lines, start, end) if not x.is_return],
        lambda x: x.item,
        lambda v: sum(x.quantity for x in v),
    )
    top = sorted(sold.values(), reverse=True)[:5]
    got = table(data, ["item__name"], "items_sold")
    assert sorted((Decimal(v) for v in got.values()), reverse=True) == top
    assert all(sold[name] == Decimal(value) for name, value in got.items())


async def test_q03_average_order_value_by_hour_of_day_last_7_days(
    shop_db: Path, lines: list[Line], today: date
) -> None:
    data = await ask(
        shop_db,
        "query_metrics",
        {
            "metrics": ["average_order_value"],
            "group_by": ["order__hour_of_day", "location__name"],
            "time_range": "last_7_days",
        },
    )
    window = in_range(lines, today - timedelta(days=6), today)
    expected = group(
        window,
        lambda x: (x.hour, x.location),
        lambda v: (
            format((Decimal(net(v)) / orders(v) * CENT).quantize(CENT, ROUND_HALF_UP), "f") if orders(v) else None
        ),
    )
    assert table(data, ["order__hour_of_day", "location__name"], "average_order_value") == expected


async def test_q04_week_over_week_change_in_net_sales_by_location(
    shop_db: Path, lines: list[Line], today: date
) -> None:
    start, end = last_week(today)
    before = (start - timedelta(days=7), end - timedelta(days=7))
    data = await ask(
        shop_db,
        "compare_periods",
        {
            "metrics": ["net_sales"],
            "current": "last_week",
            "previous": {"start": before[0].isoformat(), "end": before[1].isoformat()},
            "group_by": ["location__name"],
        },
    )
    now_net = group(in_range(lines, start, end), lambda x: x.location, net)
    then_net = group(in_range(lines, *before), lambda x: x.location, net)
    columns = data["columns"]
    for row in data["rows"]:
        cell = dict(zip(columns, row, strict=True))
        name = cell["location__name"]
        assert cell["net_sales__current"] == money(now_net[name])
        assert cell["net_sales__previous"] == money(then_net[name])
        assert cell["net_sales__delta"] == money(now_net[name] - then_net[name])
        assert cell["net_sales__pct_change"] == round((now_net[name] - then_net[name]) / then_net[name] * 100, 2)
    assert len(data["rows"]) == len(now_net)
    assert data["current"] == {"start": start.isoformat(), "end": end.isoformat(), "time_range": "last_week"}


async def test_q05_gross_sales_yesterday_per_location(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db,
        "query_metrics",
        {"metrics": ["gross_sales"], "group_by": ["location__name"], "time_range": "yesterday"},
    )
    day = today - timedelta(days=1)
    expected = group(
        [x for x in in_range(lines, day, day) if not x.is_return],
        lambda x: x.location,
        lambda v: money(sum(x.gross for x in v)),
    )
    assert table(data, ["location__name"], "gross_sales") == expected


async def test_q06_orders_by_day_of_week_over_the_last_30_days(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db,
        "query_metrics",
        {"metrics": ["order_count"], "group_by": ["order__day_of_week"], "time_range": "last_30_days"},
    )
    expected = group(in_range(lines, today - timedelta(days=29), today), lambda x: x.weekday, orders)
    assert {int(k): int(v) for k, v in table(data, ["order__day_of_week"], "order_count").items()} == {
        k: v for k, v in expected.items() if v
    }


async def test_q07_taxes_last_month_per_location(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db, "query_metrics", {"metrics": ["taxes"], "group_by": ["location__name"], "time_range": "last_month"}
    )
    expected = group(in_range(lines, *last_month(today)), lambda x: x.location, lambda v: money(sum(x.tax for x in v)))
    assert table(data, ["location__name"], "taxes") == expected


async def test_q08_tips_last_week_per_location(shop_db: Path, raw_shop: RawMerchant, today: date) -> None:
    data = await ask(
        shop_db, "query_metrics", {"metrics": ["tips"], "group_by": ["location__name"], "time_range": "last_week"}
    )
    start, end = last_week(today)
    tips: dict[str, int] = defaultdict(int)
    for name, day, amount in tips_of(raw_shop):
        if start <= day <= end:
            tips[name] += amount
    assert table(data, ["location__name"], "tips") == {k: money(v) for k, v in tips.items()}


async def test_q09_returns_last_month_per_location(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db, "query_metrics", {"metrics": ["returns"], "group_by": ["location__name"], "time_range": "last_month"}
    )
    window = in_range(lines, *last_month(today))
    expected = group(window, lambda x: x.location, lambda v: money(-sum(x.gross for x in v if x.is_return)))
    assert table(data, ["location__name"], "returns") == expected


async def test_q10_discounts_over_the_last_30_days_per_location(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db,
        "query_metrics",
        {"metrics": ["discounts"], "group_by": ["location__name"], "time_range": "last_30_days"},
    )
    window = in_range(lines, today - timedelta(days=29), today)
    expected = group(window, lambda x: x.location, lambda v: money(sum(x.discount for x in v)))
    assert table(data, ["location__name"], "discounts") == expected


async def test_q11_items_sold_by_category_last_week(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db, "query_metrics", {"metrics": ["items_sold"], "group_by": ["item__category"], "time_range": "last_week"}
    )
    window = [x for x in in_range(lines, *last_week(today)) if not x.is_return]
    expected = group(window, lambda x: x.category, lambda v: sum(x.quantity for x in v))
    assert {k: Decimal(v) for k, v in table(data, ["item__category"], "items_sold").items()} == expected


async def test_q12_weekly_net_sales_at_one_store_between_two_dates(
    shop_db: Path, lines: list[Line], raw_shop: RawMerchant
) -> None:
    store = raw_shop.locations[0]["name"]
    start, end = date(2026, 10, 19), date(2026, 11, 1)
    data = await ask(
        shop_db,
        "query_metrics",
        {
            "metrics": ["net_sales"],
            "group_by": ["metric_time__week"],
            "where": [{"dimension": "location__name", "op": "=", "value": store}],
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    window = [x for x in in_range(lines, start, end) if x.location == store]
    expected = group(window, lambda x: (x.day - timedelta(days=x.day.weekday())).isoformat(), lambda v: money(net(v)))
    assert table(data, ["metric_time__week"], "net_sales") == expected
    assert data["filters"] == [{"dimension": "location__name", "op": "=", "value": store}]


async def test_q13_orders_by_source_last_month(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db,
        "query_metrics",
        {"metrics": ["order_count"], "group_by": ["order__source"], "time_range": "last_month"},
    )
    expected = group(in_range(lines, *last_month(today)), lambda x: x.source, orders)
    assert {k: int(v) for k, v in table(data, ["order__source"], "order_count").items()} == {
        k: v for k, v in expected.items() if v
    }


async def test_q14_gross_sales_this_month_so_far_per_location(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db,
        "query_metrics",
        {"metrics": ["gross_sales"], "group_by": ["location__name"], "time_range": "this_month"},
    )
    window = [x for x in in_range(lines, today.replace(day=1), today) if not x.is_return]
    assert table(data, ["location__name"], "gross_sales") == group(
        window, lambda x: x.location, lambda v: money(sum(x.gross for x in v))
    )


async def test_q15_discount_rate_last_month_per_location(shop_db: Path, lines: list[Line], today: date) -> None:
    data = await ask(
        shop_db,
        "query_metrics",
        {"metrics": ["discount_rate"], "group_by": ["location__name"], "time_range": "last_month"},
    )
    window = in_range(lines, *last_month(today))
    expected = group(
        window,
        lambda x: x.location,
        lambda v: sum(x.discount for x in v) / sum(x.gross for x in v if not x.is_return),
    )
    got = table(data, ["location__name"], "discount_rate")
    assert got.keys() == expected.keys()
    assert all(abs(float(got[k]) - expected[k]) < 1e-9 for k in got)


async def test_q16_a_store_name_typed_loosely_is_found(shop_db: Path, raw_shop: RawMerchant) -> None:
    name = raw_shop.locations[-1]["name"]
    loose = " ".join(name.upper())  # "S H O R E D I T C H"
    data = await ask(shop_db, "get_dimension_values", {"dimension": "location__name", "search": loose})
    assert data["values"] == [name] and data["matched_search"] is True


async def test_q17_net_sales_last_week_by_team_member(
    shop_db: Path, lines: list[Line], today: date, shop_data: Any
) -> None:
    # Who rang an order up: the team member on its earliest payment (ties: lowest payment id).
    first_payment: dict[str, tuple[str, str, str]] = {}
    for payment in shop_data.payments:
        key = (payment["created_at"], payment["id"], payment.get("team_member_id"))
        if payment.get("order_id") and (
            payment["order_id"] not in first_payment or key < first_payment[payment["order_id"]]
        ):
            first_payment[payment["order_id"]] = key
    names = {m["id"]: f"{m.get('given_name', '')} {m.get('family_name', '')}".strip() for m in shop_data.team_members}
    data = await ask(
        shop_db,
        "query_metrics",
        {"metrics": ["net_sales"], "group_by": ["team_member__name", "location__name"], "time_range": "last_week"},
    )
    window = in_range(lines, *last_week(today))

    def member(line: Line) -> str | None:
        found = first_payment.get(line.order_id)
        return names.get(found[2]) if found and found[2] else None

    expected = group(window, lambda x: (member(x), x.location), lambda v: money(net(v)))
    assert table(data, ["team_member__name", "location__name"], "net_sales") == expected


async def test_q18_refunds_last_month_per_location(shop_db: Path, shop_data: Any, today: date) -> None:
    data = await ask(
        shop_db, "query_metrics", {"metrics": ["refunds"], "group_by": ["location__name"], "time_range": "last_month"}
    )
    start, end = last_month(today)
    locations = {loc["id"]: loc for loc in shop_data.locations}
    cents: dict[str, int] = defaultdict(int)
    for refund in shop_data.refunds:
        loc = locations[refund["location_id"]]
        day = _utc(refund["created_at"]).astimezone(ZoneInfo(loc["timezone"])).date()
        if refund.get("status") == "COMPLETED" and start <= day <= end:
            cents[loc["name"]] += refund["amount_money"]["amount"]
    assert table(data, ["location__name"], "refunds") == {name: money(v) for name, v in cents.items()}
