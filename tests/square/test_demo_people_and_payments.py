"""The demo merchant's payments, refunds, customers and team members agree with its orders.

Every expectation is recomputed here from the orders (tenders, returns) with the tests' own
parsing, never with the generator's helpers."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from square_demo_support import ANCHOR, parse_time

from square_bi.square.demo import DemoConfig, DemoData, generate

JSONObject = dict[str, Any]


@pytest.fixture(scope="module")
def data() -> DemoData:
    """Five weeks at 4 locations: enough returns, split tenders and leavers to check each rule."""
    return generate(DemoConfig(seed=11, days=35, locations=4, orders_per_day=220, anchor=ANCHOR))


def _amount(money: JSONObject) -> int:
    return int(money["amount"])


def _tenders(data: DemoData) -> dict[str, tuple[JSONObject, JSONObject]]:
    return {tender["id"]: (order, tender) for order in data.orders for tender in order.get("tenders", ())}


def test_every_tender_has_exactly_one_payment_that_matches_it(data: DemoData) -> None:
    tenders = _tenders(data)
    payments = {payment["id"]: payment for payment in data.payments}
    assert len(payments) == len(data.payments) == len(tenders)
    assert payments.keys() == tenders.keys()
    for payment_id, payment in payments.items():
        order, tender = tenders[payment_id]
        assert tender["payment_id"] == payment_id
        assert payment["order_id"] == order["id"] and payment["location_id"] == order["location_id"]
        assert payment["status"] == "COMPLETED"
        assert payment["source_type"] == tender["type"]
        assert payment["total_money"] == tender["amount_money"]
        tip = _amount(tender["tip_money"]) if "tip_money" in tender else 0
        assert _amount(payment["amount_money"]) + tip == _amount(payment["total_money"])
        assert payment["approved_money"] == payment["amount_money"]
        assert payment.get("customer_id") == order.get("customer_id") == tender.get("customer_id")
        assert parse_time(payment["created_at"]) == parse_time(tender["created_at"])
        assert parse_time(payment["created_at"]) <= parse_time(payment["updated_at"]) < ANCHOR
        assert payment["receipt_number"] == payment_id[:4]
        if tender["type"] == "CARD":
            assert _amount(payment["tip_money"]) == tip
            assert [fee["amount_money"] for fee in payment["processing_fee"]] == [tender["processing_fee_money"]]
            card = payment["card_details"]["card"]
            assert payment["card_details"]["status"] == "CAPTURED"
            assert (card["card_brand"], card["last_4"]) == (
                tender["card_details"]["card"]["card_brand"],
                tender["card_details"]["card"]["last_4"],
            )
        else:
            assert "processing_fee" not in payment and "card_details" not in payment
            cash = payment["cash_details"]
            assert cash["buyer_supplied_money"] == tender["cash_details"]["buyer_tendered_money"]
            assert _amount(cash["buyer_supplied_money"]) - _amount(cash["change_back_money"]) == _amount(
                tender["amount_money"]
            )


def test_every_return_giving_money_back_is_refunded_to_the_payments_of_its_sale(data: DemoData) -> None:
    orders = {order["id"]: order for order in data.orders}
    payments = {payment["id"]: payment for payment in data.payments}
    by_order: defaultdict[str, list[JSONObject]] = defaultdict(list)
    for refund in data.refunds:
        by_order[refund["order_id"]].append(refund)
    returns_with_money_back = [o for o in data.orders if o.get("returns") and _amount(o["total_money"]) < 0]
    assert len(returns_with_money_back) > 50
    assert set(by_order) == {o["id"] for o in returns_with_money_back}
    for order in returns_with_money_back:
        refunds = by_order[order["id"]]
        sale = orders[order["returns"][0]["source_order_id"]]
        sale_payments = {tender["id"] for tender in sale["tenders"]}
        assert sum(_amount(r["amount_money"]) for r in refunds) == -_amount(order["total_money"])
        for refund in refunds:
            payment = payments[refund["payment_id"]]
            assert refund["payment_id"] in sale_payments
            assert refund["status"] == "COMPLETED" and refund["location_id"] == order["location_id"]
            assert refund["destination_type"] == payment["source_type"]
            assert parse_time(refund["created_at"]) == parse_time(order["closed_at"])
            assert (
                parse_time(payment["created_at"]) < parse_time(refund["created_at"]) <= parse_time(refund["updated_at"])
            )
            assert ("processing_fee" in refund) == (payment["source_type"] == "CARD")
            if "processing_fee" in refund:
                assert -_amount(refund["processing_fee"][0]["amount_money"]) <= _amount(
                    payment["processing_fee"][0]["amount_money"]
                )


def test_refunds_never_exceed_their_payment_and_the_payment_shows_them(data: DemoData) -> None:
    refunded: Counter[str] = Counter()
    ids: defaultdict[str, list[str]] = defaultdict(list)
    latest: dict[str, datetime] = {}
    for refund in sorted(data.refunds, key=lambda r: parse_time(r["created_at"])):
        refunded[refund["payment_id"]] += _amount(refund["amount_money"])
        ids[refund["payment_id"]].append(refund["id"])
        latest[refund["payment_id"]] = max(
            latest.get(refund["payment_id"], datetime.min.replace(tzinfo=ANCHOR.tzinfo)),
            parse_time(refund["updated_at"]),
        )
    assert any(len(refund_ids) > 1 for refund_ids in ids.values()), "some sale is refunded twice"
    for payment in data.payments:
        if payment["id"] not in refunded:
            assert "refunded_money" not in payment and "refund_ids" not in payment
            continue
        assert _amount(payment["refunded_money"]) == refunded[payment["id"]] <= _amount(payment["total_money"])
        assert payment["refund_ids"] == ids[payment["id"]]
        assert parse_time(payment["updated_at"]) == latest[payment["id"]] > parse_time(payment["created_at"])


def test_card_sales_are_refunded_to_the_card_and_cash_sales_in_cash(data: DemoData) -> None:
    destinations = Counter(refund["destination_type"] for refund in data.refunds)
    assert destinations["CARD"] > destinations["CASH"] > 0


def test_customers_on_orders_exist_and_were_created_before_the_order(data: DemoData) -> None:
    customers = {customer["id"]: customer for customer in data.customers}
    orders = {order["id"]: order for order in data.orders}
    for order in data.orders:
        if "customer_id" not in order:
            continue
        assert order["state"] == "COMPLETED"
        customer = customers[order["customer_id"]]
        assert parse_time(customer["created_at"]) <= parse_time(order["created_at"])
        assert all(tender["customer_id"] == order["customer_id"] for tender in order.get("tenders", ()))
        if order.get("returns"):
            assert orders[order["returns"][0]["source_order_id"]]["customer_id"] == order["customer_id"]


def test_about_forty_percent_of_completed_orders_carry_a_customer_and_regulars_come_back(data: DemoData) -> None:
    completed = [order for order in data.orders if order["state"] == "COMPLETED"]
    with_customer = [order for order in completed if "customer_id" in order]
    assert 0.35 <= len(with_customer) / len(completed) <= 0.45
    assert not any("customer_id" in order for order in data.orders if order["state"] != "COMPLETED")
    visits = Counter(order["customer_id"] for order in with_customer)
    assert visits.most_common(1)[0][1] >= 20, "regulars order repeatedly"
    online = [order for order in completed if order["source"]["name"] == "Square Online"]
    assert sum("customer_id" in order for order in online) / len(online) > 0.8


def test_customers_have_square_fields_and_some_were_updated_later(data: DemoData) -> None:
    assert 150 <= len(data.customers) <= 250  # 35 days x 220 orders / 45
    updated = 0
    for customer in data.customers:
        assert {"id", "version", "created_at", "updated_at", "given_name", "family_name", "email_address"} <= set(
            customer
        )
        assert "@example." in customer["email_address"]
        created, changed = parse_time(customer["created_at"]), parse_time(customer["updated_at"])
        assert created <= changed < ANCHOR
        assert (customer["version"] > 0) == (changed > created)
        updated += customer["version"] > 0
    assert 0.2 <= updated / len(data.customers) <= 0.4
    assert any(parse_time(c["created_at"]) >= data.window_start for c in data.customers), "new customers join"


def test_team_members_staff_every_location_with_one_owner_and_some_leavers(data: DemoData) -> None:
    members = data.team_members
    assert sum(member["is_owner"] for member in members) == 1
    owner = next(member for member in members if member["is_owner"])
    assert owner["assigned_locations"] == {"assignment_type": "ALL_CURRENT_AND_FUTURE_LOCATIONS"}
    per_location: Counter[str] = Counter()
    for member in members:
        for location_id in member["assigned_locations"].get("location_ids", ()):
            per_location[location_id] += 1
    assert all(4 <= per_location[loc["id"]] <= 7 for loc in data.locations)
    statuses = Counter(member["status"] for member in members)
    assert statuses["INACTIVE"] >= len(data.locations)
    assert statuses["ACTIVE"] > statuses["INACTIVE"]


def test_every_payment_and_refund_was_taken_by_a_team_member_active_at_that_place_and_time(data: DemoData) -> None:
    members = {member["id"]: member for member in data.team_members}
    taken: Counter[str] = Counter()
    for record in [*data.payments, *data.refunds]:
        member = members[record["team_member_id"]]
        at = parse_time(record["created_at"])
        assigned = member["assigned_locations"]
        assert assigned["assignment_type"] == "ALL_CURRENT_AND_FUTURE_LOCATIONS" or record[
            "location_id"
        ] in assigned.get("location_ids", ())
        assert parse_time(member["created_at"]) <= at
        if member["status"] == "INACTIVE":
            assert at < parse_time(member["updated_at"])
        taken[member["id"]] += 1
    leavers = [m for m in data.team_members if m["status"] == "INACTIVE"]
    assert any(taken[m["id"]] for m in leavers), "leavers took payments before they left"


def test_the_main_location_is_the_first_one_opened(data: DemoData) -> None:
    oldest = min(data.locations, key=lambda loc: parse_time(loc["created_at"]))
    assert data.main_location_id == oldest["id"]


def test_people_and_payments_are_deterministic_under_the_seed() -> None:
    def small(seed: int) -> DemoData:
        return generate(DemoConfig(seed=seed, days=5, locations=2, orders_per_day=60, anchor=ANCHOR))

    def dump(data: DemoData) -> str:
        stored = [list(data.payments), list(data.refunds), list(data.orders)]  # the stores decode each object
        return json.dumps([data.team_members, data.customers, *stored])

    assert dump(small(3)) == dump(small(3))
    assert {c["id"] for c in small(3).customers}.isdisjoint({c["id"] for c in small(4).customers})


def test_payments_and_refunds_fall_inside_the_window(data: DemoData) -> None:
    start = data.window_start
    for record in [*data.payments, *data.refunds]:
        assert start <= parse_time(record["created_at"]) <= parse_time(record["updated_at"]) < ANCHOR
    assert parse_time(max(data.payments, key=lambda p: p["created_at"])["created_at"]) > ANCHOR - timedelta(days=1)
