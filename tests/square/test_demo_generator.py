"""The demo merchant's data: deterministic, internally consistent, shaped like Square's."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from square_demo_support import ANCHOR, parse_time

from square_bi.square.demo import DemoConfig, DemoData, generate

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
DAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _money_fields(obj: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every ``Money`` object (a dict with exactly amount and currency) inside ``obj``."""
    found = []
    if isinstance(obj, dict):
        if set(obj) == {"amount", "currency"}:
            return [(path, obj)]
        for key, value in obj.items():
            found += _money_fields(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found += _money_fields(value, f"{path}[{index}]")
    return found


def _small(seed: int = 7) -> DemoData:
    return generate(DemoConfig(seed=seed, days=10, locations=3, orders_per_day=80, anchor=ANCHOR))


def _dump(data: DemoData) -> str:
    stored = [list(data.orders), list(data.payments), list(data.refunds)]  # the stores decode each object
    return json.dumps([data.locations, data.catalog_objects, *stored], sort_keys=False)


def test_same_config_generates_byte_identical_data() -> None:
    assert _dump(_small()) == _dump(_small())


def test_different_seed_generates_different_data() -> None:
    first, second = _small(seed=1), _small(seed=2)
    assert {o["id"] for o in first.orders}.isdisjoint({o["id"] for o in second.orders})
    assert [loc["id"] for loc in first.locations] != [loc["id"] for loc in second.locations]


def test_default_anchor_is_todays_utc_midnight() -> None:
    anchor = DemoConfig().resolved_anchor()
    now = datetime.now(UTC)
    assert anchor.tzinfo is not None and anchor.utcoffset() == timedelta(0)
    assert (anchor.hour, anchor.minute, anchor.second, anchor.microsecond) == (0, 0, 0, 0)
    assert timedelta(0) <= now - anchor < timedelta(days=1)


def test_naive_anchor_is_read_as_utc() -> None:
    assert DemoConfig(anchor=datetime(2025, 1, 1)).anchor == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("locations", [1, 13])
def test_config_rejects_location_counts_outside_the_supported_range(locations: int) -> None:
    with pytest.raises(ValidationError):
        DemoConfig(locations=locations)


def test_default_config_generates_ninety_days_of_about_two_hundred_orders_a_day() -> None:
    data = generate(DemoConfig(anchor=ANCHOR))
    assert len(data.locations) == 3
    assert 0.9 * 90 * 200 <= len(data.orders) <= 1.1 * 90 * 200


def test_orders_per_day_is_the_average_across_all_locations(demo_data: DemoData) -> None:
    config = demo_data.config
    expected = config.days * config.orders_per_day
    assert 0.9 * expected <= len(demo_data.orders) <= 1.1 * expected
    per_location = Counter(order["location_id"] for order in demo_data.orders)
    assert set(per_location) == {loc["id"] for loc in demo_data.locations}


def test_locations_span_time_zones_and_use_their_local_currency(demo_data: DemoData) -> None:
    locations = demo_data.locations
    assert [loc["name"] for loc in locations] == sorted(loc["name"] for loc in locations)
    assert len({loc["timezone"] for loc in locations}) == len(locations)
    currencies = {loc["address"]["locality"]: loc["currency"] for loc in locations}
    assert currencies == {"San Francisco": "USD", "New York": "USD", "London": "GBP"}
    for location in locations:
        ZoneInfo(location["timezone"])  # a real IANA zone
        assert location["status"] == "ACTIVE"
        assert location["merchant_id"] == demo_data.merchant_id
        assert location["business_name"] == demo_data.business_name
        assert location["country"] == location["address"]["country"]


def test_large_demo_reaches_other_zones_and_currencies() -> None:
    data = generate(DemoConfig(locations=12, days=2, orders_per_day=100, anchor=ANCHOR))
    assert {"USD", "GBP", "EUR", "JPY", "AUD", "NZD", "CAD"} <= {loc["currency"] for loc in data.locations}
    assert len({order["location_id"] for order in data.orders}) == 12


def test_ids_look_like_square_ids(demo_data: DemoData) -> None:
    assert re.fullmatch(r"[0-9A-Z]{13}", demo_data.merchant_id)
    for location in demo_data.locations:
        assert re.fullmatch(r"[0-9A-Z]{13}", location["id"])
    for obj in demo_data.catalog_objects:
        assert re.fullmatch(r"[A-Z2-7]{24}", obj["id"])
    order_ids = [order["id"] for order in demo_data.orders]
    assert len(set(order_ids)) == len(order_ids)
    for order in demo_data.orders:
        assert re.fullmatch(r"[A-Za-z0-9]{27}", order["id"])
        uids = [item["uid"] for item in order.get("line_items", [])]
        uids += [item["uid"] for ret in order.get("returns", []) for item in ret["return_line_items"]]
        assert uids and len(set(uids)) == len(uids)


def test_timestamps_are_rfc3339_utc_in_both_square_forms(demo_data: DemoData) -> None:
    forms: Counter[str] = Counter()
    for order in demo_data.orders:
        for key in ("created_at", "closed_at", "updated_at"):
            if key not in order:  # only OPEN orders have no closed_at (not yet in a terminal state)
                assert key == "closed_at" and order["state"] == "OPEN"
                continue
            assert RFC3339_UTC.match(order[key]), order[key]
            forms["fraction" if "." in order[key] else "whole"] += 1
        created, updated = parse_time(order["created_at"]), parse_time(order["updated_at"])
        assert created < updated < ANCHOR
        if "closed_at" in order:
            closed = parse_time(order["closed_at"])
            assert created < closed <= updated
            if order["state"] == "COMPLETED":  # a sale is rung up within minutes; a cancel may take longer
                assert closed - created <= timedelta(minutes=15)
        assert created >= ANCHOR - timedelta(days=demo_data.config.days)
    assert forms["fraction"] > forms["whole"] > 0


def test_some_orders_are_updated_long_after_they_closed(demo_data: DemoData) -> None:
    late = [
        order
        for order in demo_data.orders
        if "closed_at" in order
        and parse_time(order["updated_at"]) - parse_time(order["closed_at"]) > timedelta(hours=1)
    ]
    assert 0 < len(late) < 0.2 * len(demo_data.orders)


def test_line_item_amounts_reconcile(demo_data: DemoData) -> None:
    for order in demo_data.orders:
        assert order["state"] in {"COMPLETED", "CANCELED", "OPEN"}
        if "returns" in order:
            assert order["state"] == "COMPLETED" and len(order.get("line_items", [])) <= 1  # exchanges sell one item
        else:
            assert 1 <= len(order["line_items"]) <= 5
        for item in order.get("line_items", []):
            assert isinstance(item["quantity"], str)
            quantity = Decimal(item["quantity"])
            assert quantity > 0
            base = item["base_price_money"]["amount"]
            assert item["variation_total_price_money"]["amount"] == base * quantity
            modifiers = sum(m["total_price_money"]["amount"] for m in item.get("modifiers", []))
            assert item["gross_sales_money"]["amount"] == item["variation_total_price_money"]["amount"] + modifiers
            additive = all(tax["type"] == "ADDITIVE" for tax in order.get("taxes", []))
            assert item["total_money"]["amount"] == (
                item["gross_sales_money"]["amount"]
                - item["total_discount_money"]["amount"]
                + (item["total_tax_money"]["amount"] if additive else 0)  # inclusive tax is inside gross
            )
            assert item["item_type"] in {"ITEM", "CUSTOM_AMOUNT", "GIFT_CARD"}


def test_order_totals_are_the_sum_of_their_line_items(demo_data: DemoData) -> None:
    for order in demo_data.orders:
        items = order.get("line_items", [])
        returned = order.get("return_amounts", {})

        def minus_returns(key: str, order: dict[str, Any] = order, returned: dict[str, Any] = returned) -> int:
            return int(order[key]["amount"]) + (returned[key]["amount"] if key in returned else 0)

        assert minus_returns("total_money") == sum(i["total_money"]["amount"] for i in items) + (
            order["total_tip_money"]["amount"] + order["total_service_charge_money"]["amount"]
        )
        assert order["total_tax_money"]["amount"] + (returned["tax_money"]["amount"] if returned else 0) == sum(
            i["total_tax_money"]["amount"] for i in items
        )
        assert order["total_discount_money"]["amount"] + (
            returned["discount_money"]["amount"] if returned else 0
        ) == sum(i["total_discount_money"]["amount"] for i in items)
        net = order["net_amounts"]
        assert net["total_money"] == order["total_money"]
        assert net["tax_money"] == order["total_tax_money"]
        assert net["discount_money"] == order["total_discount_money"]
        assert net["tip_money"] == order["total_tip_money"]
        paid = sum(t["amount_money"]["amount"] for t in order.get("tenders", []))
        assert order["net_amount_due_money"]["amount"] == max(0, order["total_money"]["amount"] - paid)
        if "returns" not in order:
            assert order["total_money"]["amount"] > 0


def test_every_money_uses_the_location_currency(demo_data: DemoData) -> None:
    currency = {loc["id"]: loc["currency"] for loc in demo_data.locations}
    for order in demo_data.orders:
        monies = _money_fields(order)
        assert len(monies) > 10
        for path, money in monies:
            assert money["currency"] == currency[order["location_id"]], path
            assert isinstance(money["amount"], int), path


def test_line_items_sell_live_catalog_variations_at_the_location_price(demo_data: DemoData) -> None:
    variations = {o["id"]: o for o in demo_data.catalog_objects if o["type"] == "ITEM_VARIATION"}
    items = {o["id"]: o for o in demo_data.catalog_objects if o["type"] == "ITEM"}
    currency = {loc["id"]: loc["currency"] for loc in demo_data.locations}
    sold: Counter[str] = Counter()
    for order in demo_data.orders:
        for line in order.get("line_items", []):
            if line["item_type"] != "ITEM":
                assert "catalog_object_id" not in line
                continue
            variation = variations[line["catalog_object_id"]]
            data = variation["item_variation_data"]
            assert not variation["is_deleted"]
            assert line["catalog_version"] == variation["version"]
            assert line["variation_name"] == data["name"]
            assert line["name"] == items[data["item_id"]]["item_data"]["name"]
            price = data["price_money"]
            for override in data.get("location_overrides", []):
                if override["location_id"] == order["location_id"]:
                    price = override["price_money"]
            assert price["currency"] == currency[order["location_id"]]
            assert line["base_price_money"] == price
            sold[line["name"]] += 1
    assert len(sold) >= 15  # the whole menu sells, not one item


def test_catalog_links_categories_items_and_variations(demo_data: DemoData) -> None:
    objects = demo_data.catalog_objects
    by_id = {o["id"]: o for o in objects}
    kinds = Counter(o["type"] for o in objects)
    assert 15 <= kinds["ITEM"] <= 30 and kinds["CATEGORY"] >= 3
    location_ids = {loc["id"] for loc in demo_data.locations}
    for obj in objects:
        assert isinstance(obj["version"], int)
        if obj["type"] in {"TAX", "DISCOUNT"} and not obj["present_at_all_locations"]:
            assert set(obj["present_at_location_ids"]) <= location_ids  # a jurisdiction's tax, a currency's reward
        else:
            assert obj["present_at_all_locations"] is True
        assert RFC3339_UTC.match(obj["updated_at"])
        if obj["type"] == "ITEM":
            data = obj["item_data"]
            assert by_id[data["category_id"]]["type"] == "CATEGORY"
            assert [c["id"] for c in data["categories"]] == [data["category_id"]]
            assert 1 <= len(data["variations"]) <= 3
            for embedded in data["variations"]:
                assert by_id[embedded["id"]] == embedded
                assert embedded["item_variation_data"]["item_id"] == obj["id"]
        if obj["type"] == "ITEM_VARIATION":
            assert by_id[obj["item_variation_data"]["item_id"]]["type"] == "ITEM"
    deleted = [o for o in objects if o["is_deleted"]]
    assert {o["type"] for o in deleted} == {"ITEM", "ITEM_VARIATION"}


def test_orders_happen_inside_each_locations_local_business_hours(demo_data: DemoData) -> None:
    for location in demo_data.locations:
        zone = ZoneInfo(location["timezone"])
        hours = {
            p["day_of_week"]: (int(p["start_local_time"][:2]), int(p["end_local_time"][:2]))
            for p in location["business_hours"]["periods"]
        }
        orders = [o for o in demo_data.orders if o["location_id"] == location["id"]]
        assert orders
        for order in orders:
            for key in ("created_at", "closed_at"):
                if key not in order:
                    continue
                local = parse_time(order[key]).astimezone(zone)
                opens, closes = hours[DAY_NAMES[local.weekday()]]
                assert opens <= local.hour < closes, (location["name"], key, local)


def test_traffic_peaks_in_the_local_morning_and_on_saturdays() -> None:
    data = generate(DemoConfig(seed=3, days=28, locations=3, orders_per_day=300, anchor=ANCHOR))
    zones = {loc["id"]: ZoneInfo(loc["timezone"]) for loc in data.locations}
    hours: Counter[int] = Counter()
    weekdays: Counter[int] = Counter()
    for order in data.orders:
        local = parse_time(order["created_at"]).astimezone(zones[order["location_id"]])
        hours[local.hour] += 1
        weekdays[local.weekday()] += 1
    assert hours[8] > hours[15] > hours[18]
    assert weekdays[5] > weekdays[0]
