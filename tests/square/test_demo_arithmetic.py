"""The demo merchant's money is as exact as a real Square shop's: every line, order, tender and
return reconciles to the minor unit.

Expectations are re-derived here from the JSON and the catalog with ``fractions.Fraction``
(never with the generator's own helpers): taxes and discounts are rounded half up per line,
order-level discounts are allocated over the lines, returns are prorated by quantity.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from square_demo_support import ANCHOR, parse_time

from square_bi.square.demo import DemoConfig, DemoData, generate

JSONObject = dict[str, Any]


@pytest.fixture(scope="module")
def data() -> DemoData:
    """Six weeks, three locations (USD and GBP): more than 10,000 orders."""
    generated = generate(DemoConfig(seed=5, days=42, locations=3, orders_per_day=260, anchor=ANCHOR))
    assert len(generated.orders) >= 10_000
    return generated


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def _rate(percentage: str) -> Fraction:
    return Fraction(Decimal(percentage)) / 100


def _amount(money: JSONObject) -> int:
    amount = money["amount"]
    assert isinstance(amount, int)
    return amount


def _catalog(data: DemoData, kind: str) -> dict[str, JSONObject]:
    return {obj["id"]: obj for obj in data.catalog_objects if obj["type"] == kind}


def _sales(data: DemoData) -> list[JSONObject]:
    return [order for order in data.orders if "returns" not in order]


def _returns(data: DemoData) -> list[JSONObject]:
    return [order for order in data.orders if "returns" in order]


def _is_additive(order: JSONObject) -> bool:
    return all(tax["type"] == "ADDITIVE" for tax in order.get("taxes", []))


def test_the_catalog_holds_each_locations_tax_discounts_and_modifier_lists(data: DemoData) -> None:
    taxes = _catalog(data, "TAX")
    by_location = {loc["id"]: loc for loc in data.locations}
    rates = {}
    for tax in taxes.values():
        (location_id,) = tax["present_at_location_ids"]
        info = tax["tax_data"]
        rates[by_location[location_id]["address"]["locality"]] = (info["percentage"], info["inclusion_type"])
        assert info["calculation_phase"] == "TAX_SUBTOTAL_PHASE" and info["enabled"] is True
    assert rates == {
        "San Francisco": ("8.625", "ADDITIVE"),
        "New York": ("8.875", "ADDITIVE"),
        "London": ("20", "INCLUSIVE"),
    }
    discounts = [obj["discount_data"] for obj in _catalog(data, "DISCOUNT").values()]
    assert {d["discount_type"] for d in discounts} == {"FIXED_PERCENTAGE", "FIXED_AMOUNT"}
    assert {d["amount_money"]["currency"] for d in discounts if "amount_money" in d} == {"USD", "GBP"}
    modifier_lists = {obj["modifier_list_data"]["name"]: obj for obj in _catalog(data, "MODIFIER_LIST").values()}
    assert set(modifier_lists) == {"Milk", "Extras"}
    modifiers = _catalog(data, "MODIFIER")
    for modifier_list in modifier_lists.values():
        for embedded in modifier_list["modifier_list_data"]["modifiers"]:
            assert modifiers[embedded["id"]] == embedded
            assert embedded["modifier_data"]["modifier_list_id"] == modifier_list["id"]
    oat = next(m for m in modifiers.values() if m["modifier_data"]["name"] == "Oat Milk")
    assert oat["modifier_data"]["price_money"] == {"amount": 75, "currency": "USD"}
    items = [obj for obj in data.catalog_objects if obj["type"] == "ITEM"]
    assert all(set(item["item_data"]["tax_ids"]) == set(taxes) for item in items)
    offering = [item for item in items if item["item_data"].get("modifier_list_info")]
    list_ids = {m["id"] for m in modifier_lists.values()}
    assert offering and all(
        info["modifier_list_id"] in list_ids for item in offering for info in item["item_data"]["modifier_list_info"]
    )


def test_every_line_reconciles_with_its_modifiers_taxes_discounts_and_the_catalog_rates(data: DemoData) -> None:
    taxes, discounts, modifiers = _catalog(data, "TAX"), _catalog(data, "DISCOUNT"), _catalog(data, "MODIFIER")
    checked = 0
    for order in data.orders:
        location_id = order["location_id"]
        order_taxes = {tax["uid"]: tax for tax in order.get("taxes", [])}
        order_discounts = {discount["uid"]: discount for discount in order.get("discounts", [])}
        for tax in order_taxes.values():
            catalog_tax = taxes[tax["catalog_object_id"]]
            assert location_id in catalog_tax["present_at_location_ids"]
            assert tax["percentage"] == catalog_tax["tax_data"]["percentage"]
            assert tax["type"] == catalog_tax["tax_data"]["inclusion_type"]
            assert tax["catalog_version"] == catalog_tax["version"]
        for discount in order_discounts.values():
            catalog_discount = discounts[discount["catalog_object_id"]]["discount_data"]
            assert discount["type"] == catalog_discount["discount_type"]
            assert discount.get("percentage") == catalog_discount.get("percentage")
            assert discount.get("amount_money") == catalog_discount.get("amount_money")

        for line in order.get("line_items", []):
            quantity = int(line["quantity"])
            base = _amount(line["base_price_money"])
            assert _amount(line["variation_total_price_money"]) == base * quantity
            modifier_total = 0
            for modifier in line.get("modifiers", []):
                catalog_modifier = modifiers[modifier["catalog_object_id"]]["modifier_data"]
                price = catalog_modifier["price_money"]
                for override in catalog_modifier.get("location_overrides", []):
                    if override["location_id"] == location_id:
                        price = override["price_money"]
                assert modifier["base_price_money"] == price
                expected = _amount(price) * int(modifier["quantity"]) * quantity
                assert _amount(modifier["total_price_money"]) == expected
                modifier_total += expected
            gross = _amount(line["gross_sales_money"])
            assert gross == base * quantity + modifier_total

            discount = sum(_amount(a["applied_money"]) for a in line.get("applied_discounts", []))
            assert _amount(line["total_discount_money"]) == discount
            assert 0 <= discount <= gross
            for applied in line.get("applied_discounts", []):
                source = order_discounts[applied["discount_uid"]]
                if source["scope"] == "LINE_ITEM":
                    assert _amount(applied["applied_money"]) == _round_half_up(gross * _rate(source["percentage"]))

            tax = sum(_amount(a["applied_money"]) for a in line.get("applied_taxes", []))
            assert _amount(line["total_tax_money"]) == tax
            expected_tax = 0
            additive_tax = 0
            for applied in line.get("applied_taxes", []):
                source = order_taxes[applied["tax_uid"]]
                rate = _rate(source["percentage"])
                if source["type"] == "ADDITIVE":
                    expected_tax += _round_half_up((gross - discount) * rate)
                    additive_tax += _amount(applied["applied_money"])
                else:
                    expected_tax += _round_half_up((gross - discount) * rate / (1 + rate))
            assert tax == expected_tax
            if line["item_type"] == "GIFT_CARD":
                assert "applied_taxes" not in line and "applied_discounts" not in line
                assert "catalog_object_id" not in line
            else:
                assert len(line["applied_taxes"]) == 1  # the location's tax applies to items and custom amounts
            assert _amount(line["total_money"]) == gross - discount + additive_tax
            checked += 1
    assert checked > 20_000


def test_order_level_discounts_are_allocated_over_the_lines_and_sum_exactly(data: DemoData) -> None:
    seen: Counter[str] = Counter()
    for order in data.orders:
        for discount in order.get("discounts", []):
            shares = [
                (line, _amount(applied["applied_money"]))
                for line in order.get("line_items", [])
                for applied in line.get("applied_discounts", [])
                if applied["discount_uid"] == discount["uid"]
            ]
            assert shares
            total = sum(share for _, share in shares)
            assert _amount(discount["applied_money"]) == total
            seen[f"{discount['scope']}:{discount['type']}"] += 1
            if discount["scope"] != "ORDER":
                continue
            eligible = [line for line in order["line_items"] if line["item_type"] != "GIFT_CARD"]
            assert [line["uid"] for line, _ in shares] == [
                line["uid"]
                for line in eligible
                if any(a["discount_uid"] == discount["uid"] for a in line.get("applied_discounts", []))
            ]
            subtotal = sum(_amount(line["gross_sales_money"]) for line in eligible)
            if discount["type"] == "FIXED_PERCENTAGE":
                assert total == _round_half_up(subtotal * _rate(discount["percentage"]))
            else:
                assert total == min(_amount(discount["amount_money"]), subtotal)
            largest = max(eligible, key=lambda line: _amount(line["gross_sales_money"]))
            for line, share in shares:
                exact = Fraction(total * _amount(line["gross_sales_money"]), subtotal)
                if line is largest:
                    assert 0 <= share - math.floor(exact) < len(eligible)
                else:
                    assert share == math.floor(exact)
    assert set(seen) == {"ORDER:FIXED_PERCENTAGE", "ORDER:FIXED_AMOUNT", "LINE_ITEM:FIXED_PERCENTAGE"}


def test_every_tax_entry_applies_the_sum_of_its_lines(data: DemoData) -> None:
    for order in data.orders:
        for tax in order.get("taxes", []):
            applied = [
                _amount(a["applied_money"])
                for line in order.get("line_items", [])
                for a in line.get("applied_taxes", [])
                if a["tax_uid"] == tax["uid"]
            ]
            assert applied and _amount(tax["applied_money"]) == sum(applied)


def test_every_order_total_is_its_lines_plus_tips_minus_its_returns(data: DemoData) -> None:
    for order in data.orders:
        lines = order.get("line_items", [])
        returned = order.get("return_amounts")
        if returned is not None:
            parts = [ret["return_amounts"] for ret in order["returns"]]
            for key in ("total_money", "tax_money", "discount_money"):
                assert _amount(returned[key]) == sum(_amount(part[key]) for part in parts)
            return_lines = [item for ret in order["returns"] for item in ret["return_line_items"]]
            assert _amount(returned["total_money"]) == sum(_amount(i["total_money"]) for i in return_lines)
            assert _amount(returned["tax_money"]) == sum(_amount(i["total_tax_money"]) for i in return_lines)
            assert _amount(returned["discount_money"]) == sum(_amount(i["total_discount_money"]) for i in return_lines)

        def back(key: str, returned: JSONObject | None = returned) -> int:
            return _amount(returned[key]) if returned else 0

        tips = sum(_amount(t.get("tip_money", {"amount": 0})) for t in order.get("tenders", []))
        assert _amount(order["total_tip_money"]) == tips
        assert _amount(order["total_money"]) == sum(_amount(i["total_money"]) for i in lines) + tips + _amount(
            order["total_service_charge_money"]
        ) - back("total_money")
        assert _amount(order["total_tax_money"]) == sum(_amount(i["total_tax_money"]) for i in lines) - back(
            "tax_money"
        )
        assert _amount(order["total_discount_money"]) == sum(_amount(i["total_discount_money"]) for i in lines) - back(
            "discount_money"
        )
        net = order["net_amounts"]
        assert (_amount(net["total_money"]), _amount(net["tax_money"]), _amount(net["discount_money"])) == (
            _amount(order["total_money"]),
            _amount(order["total_tax_money"]),
            _amount(order["total_discount_money"]),
        )
        assert _amount(net["tip_money"]) == tips


def test_tenders_pay_exactly_the_order_total_and_cash_gives_the_right_change(data: DemoData) -> None:
    for order in data.orders:
        tenders = order.get("tenders", [])
        total = _amount(order["total_money"])
        if order["state"] != "COMPLETED" or total <= 0:
            assert not tenders
            continue
        assert tenders and sum(_amount(t["amount_money"]) for t in tenders) == total
        for tender in tenders:
            assert tender["transaction_id"] == order["id"] and tender["location_id"] == order["location_id"]
            assert tender["payment_id"] == tender["id"]
            assert tender["amount_money"]["currency"] == order["total_money"]["currency"]
            if tender["type"] == "CARD":
                assert tender["card_details"]["status"] == "CAPTURED"
                assert 0 <= _amount(tender["tip_money"]) < _amount(tender["amount_money"])
                assert 0 < _amount(tender["processing_fee_money"]) < _amount(tender["amount_money"])
            else:
                assert tender["type"] == "CASH" and "tip_money" not in tender
                cash = tender["cash_details"]
                change = _amount(cash["buyer_tendered_money"]) - _amount(tender["amount_money"])
                assert change >= 0 and _amount(cash["change_back_money"]) == change
        assert _amount(order["net_amount_due_money"]) == 0


def test_every_return_line_points_at_a_sold_line_with_enough_quantity_left(data: DemoData) -> None:
    by_id = {order["id"]: order for order in data.orders}
    returned: Counter[tuple[str, str]] = Counter()
    last_event: dict[str, Any] = {}
    for order in sorted(_returns(data), key=lambda o: parse_time(o["created_at"])):
        assert order["state"] == "COMPLETED"
        for ret in order["returns"]:
            sale = by_id[ret["source_order_id"]]
            assert "returns" not in sale and sale["state"] == "COMPLETED"
            assert sale["location_id"] == order["location_id"]
            # 1 to 10 local days after the sale, or after the sale's previous return
            previous = last_event.get(sale["id"], parse_time(sale["closed_at"]))
            assert timedelta(hours=1) < parse_time(order["created_at"]) - previous <= timedelta(days=11)
            last_event[sale["id"]] = parse_time(order["closed_at"])
            sold_lines = {line["uid"]: line for line in sale["line_items"]}
            for item in ret["return_line_items"]:
                sold = sold_lines[item["source_line_item_uid"]]
                assert sold["item_type"] == "ITEM" == item["item_type"]
                for key in ("catalog_object_id", "catalog_version", "name", "variation_name", "base_price_money"):
                    assert item[key] == sold[key]
                quantity = int(item["quantity"])
                assert quantity >= 1
                returned[(sale["id"], sold["uid"])] += quantity
                assert returned[(sale["id"], sold["uid"])] <= int(sold["quantity"])
    assert returned


def test_returned_amounts_are_the_returned_quantitys_share_and_never_exceed_the_sold_line(data: DemoData) -> None:
    by_id = {order["id"]: order for order in data.orders}
    sums: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    keys = ("gross", "tax", "discount", "total", "quantity")
    for order in _returns(data):
        for ret in order["returns"]:
            sale = by_id[ret["source_order_id"]]
            additive = _is_additive(sale)
            sold_lines = {line["uid"]: line for line in sale["line_items"]}
            return_taxes = {tax["uid"]: tax for tax in ret.get("return_taxes", [])}
            return_discounts = {d["uid"]: d for d in ret.get("return_discounts", [])}
            sale_taxes = {tax["uid"] for tax in sale.get("taxes", [])}
            sale_discounts = {d["uid"] for d in sale.get("discounts", [])}
            assert {t["source_tax_uid"] for t in return_taxes.values()} <= sale_taxes
            assert {d["source_discount_uid"] for d in return_discounts.values()} <= sale_discounts
            for item in ret["return_line_items"]:
                sold = sold_lines[item["source_line_item_uid"]]
                quantity, sold_quantity = int(item["quantity"]), int(sold["quantity"])
                base = _amount(item["base_price_money"])
                assert _amount(item["variation_total_price_money"]) == base * quantity
                sold_modifiers = {m["uid"]: m for m in sold.get("modifiers", [])}
                modifiers = 0
                for modifier in item.get("return_modifiers", []):
                    source = sold_modifiers[modifier["source_modifier_uid"]]
                    expected = _amount(source["base_price_money"]) * int(source["quantity"]) * quantity
                    assert _amount(modifier["total_price_money"]) == expected
                    modifiers += expected
                assert len(item.get("return_modifiers", [])) == len(sold_modifiers)
                gross = _amount(item["gross_return_money"])
                assert gross == base * quantity + modifiers
                tax, discount = _amount(item["total_tax_money"]), _amount(item["total_discount_money"])
                assert tax == sum(_amount(a["applied_money"]) for a in item.get("applied_taxes", []))
                assert discount == sum(_amount(a["applied_money"]) for a in item.get("applied_discounts", []))
                assert all(a["tax_uid"] in return_taxes for a in item.get("applied_taxes", []))
                assert all(a["discount_uid"] in return_discounts for a in item.get("applied_discounts", []))
                share = Fraction(quantity, sold_quantity)
                assert abs(tax - _amount(sold["total_tax_money"]) * share) <= 1
                assert abs(discount - _amount(sold["total_discount_money"]) * share) <= 1
                assert _amount(item["total_money"]) == gross - discount + (tax if additive else 0)
                totals = sums[(sale["id"], sold["uid"])]
                for key, value in zip(
                    keys, (gross, tax, discount, _amount(item["total_money"]), quantity), strict=True
                ):
                    totals[key] += value
            for tax in return_taxes.values():
                applied = [
                    _amount(a["applied_money"])
                    for item in ret["return_line_items"]
                    for a in item.get("applied_taxes", [])
                    if a["tax_uid"] == tax["uid"]
                ]
                assert _amount(tax["applied_money"]) == sum(applied)
    assert sums
    complete = 0
    for (sale_id, uid), totals in sums.items():
        sold = next(line for line in by_id[sale_id]["line_items"] if line["uid"] == uid)
        sold_amounts = {
            "gross": _amount(sold["gross_sales_money"]),
            "tax": _amount(sold["total_tax_money"]),
            "discount": _amount(sold["total_discount_money"]),
            "total": _amount(sold["total_money"]),
            "quantity": int(sold["quantity"]),
        }
        for key in keys:
            assert 0 <= totals[key] <= sold_amounts[key], key
        if totals["quantity"] == sold_amounts["quantity"]:
            assert dict(totals) == {k: v for k, v in sold_amounts.items() if v or k in totals}
            complete += 1
    assert complete > 0


def test_states_have_the_timestamps_square_gives_them(data: DemoData) -> None:
    for order in data.orders:
        created, updated = parse_time(order["created_at"]), parse_time(order["updated_at"])
        assert created < updated < ANCHOR
        if order["state"] == "COMPLETED":
            assert created <= parse_time(order["closed_at"]) <= updated
        elif order["state"] == "CANCELED":  # closed_at: when the order reached a terminal state
            assert order["closed_at"] == order["updated_at"]
            assert "tenders" not in order and "returns" not in order
        else:
            assert order["state"] == "OPEN"
            assert "closed_at" not in order and "tenders" not in order and "returns" not in order
        if order["state"] == "OPEN":
            assert ANCHOR - created <= timedelta(days=1)
            assert order["net_amount_due_money"] == order["total_money"]


def test_the_data_holds_every_case_in_plausible_shares(data: DemoData) -> None:
    sales = _sales(data)
    states = Counter(order["state"] for order in sales)
    assert 0.02 <= states["CANCELED"] / len(sales) <= 0.04
    assert 0 < states["OPEN"] < 0.01 * len(sales)
    completed = [order for order in sales if order["state"] == "COMPLETED"]
    returns = _returns(data)
    assert 0.012 <= len({r["returns"][0]["source_order_id"] for r in returns}) / len(completed) <= 0.03
    assert sum(1 for r in returns if r.get("line_items")) >= 2  # exchanges
    assert sum(1 for r in returns if _amount(r["total_money"]) < 0) > 0.5 * len(returns)
    return_lines = [item for r in returns for ret in r["returns"] for item in ret["return_line_items"]]
    by_id = {order["id"]: order for order in data.orders}
    partial = 0
    for r in returns:
        sold = {line["uid"]: line for line in by_id[r["returns"][0]["source_order_id"]]["line_items"]}
        partial += sum(
            1
            for item in r["returns"][0]["return_line_items"]
            if int(item["quantity"]) < int(sold[item["source_line_item_uid"]]["quantity"])
        )
    assert partial >= 2 and return_lines

    lines = [line for order in sales for line in order["line_items"]]
    kinds = Counter(line["item_type"] for line in lines)
    assert kinds["CUSTOM_AMOUNT"] > 50 and kinds["GIFT_CARD"] > 20
    assert 0.05 < sum(1 for line in lines if line.get("modifiers")) / kinds["ITEM"] < 0.3
    assert 0.08 < sum(1 for order in sales if order.get("discounts")) / len(sales) < 0.25

    tenders = [tender for order in completed for tender in order["tenders"]]
    types = Counter(tender["type"] for tender in tenders)
    assert 0.1 < types["CASH"] / len(tenders) < 0.35
    counter_cards = [
        tender
        for order in completed
        if order["source"]["name"] == "Square Point of Sale"
        for tender in order["tenders"]
        if tender["type"] == "CARD"
    ]
    tipped = sum(1 for tender in counter_cards if _amount(tender["tip_money"]) > 0)
    assert 0.25 < tipped / len(counter_cards) < 0.35
    assert sum(1 for order in completed if len(order["tenders"]) > 1) > 20  # split tenders
