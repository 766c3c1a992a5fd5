"""The live demo merchant: as its simulated clock advances, orders arrive (some open, completed
later, some canceled), sales are returned and refunded, prices change, items are deleted and
customers edited, all in Square's shapes and arithmetic, and both a hand-paged search and the real
extractor keep up with it. No test sleeps: the clock is moved by hand."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import test_demo_arithmetic as arithmetic
import test_demo_people_and_payments as people
from square_demo_support import ANCHOR, TOKEN, SquareSchemas, parse_time

from square_bi.cli import build_parser, main
from square_bi.commands.emulator import live_config
from square_bi.config import Settings
from square_bi.square.demo import (
    DemoConfig,
    DemoData,
    DemoServer,
    LiveConfig,
    LiveMerchant,
    ManualClock,
    SimulatedClock,
    generate,
)
from square_bi.square.demo.live import CHANGE_KINDS
from square_bi.warehouse.sync import sync_warehouse

JSONObject = dict[str, Any]


def _data(anchor: datetime = ANCHOR, days: int = 14, orders_per_day: int = 150) -> DemoData:
    return generate(DemoConfig(seed=13, days=days, locations=3, orders_per_day=orders_per_day, anchor=anchor))


def _dump(data: DemoData) -> str:
    stored = [list(data.orders), list(data.payments), list(data.refunds)]  # the stores decode each object
    return json.dumps([*stored, data.customers, data.catalog_objects])


@pytest.fixture(scope="module")
def advanced() -> tuple[DemoData, DemoData, LiveMerchant]:
    """A merchant before and after a simulated day at 120 new orders an hour."""
    before, data = _data(), _data()
    merchant = LiveMerchant(data, LiveConfig(rate=120))
    merchant.advance_to(ANCHOR + timedelta(hours=24))
    return before, data, merchant


def test_a_simulated_day_brings_every_kind_of_change_stamped_with_its_simulated_time(
    advanced: tuple[DemoData, DemoData, LiveMerchant],
) -> None:
    before, data, merchant = advanced
    now = ANCHOR + timedelta(hours=24)
    assert merchant.now == now
    applied = merchant.stats()["changes_applied"]
    assert set(applied) == set(CHANGE_KINDS) and all(applied[kind] > 0 for kind in CHANGE_KINDS), applied
    assert 2400 <= applied["order"] <= 3400  # about 120 an hour

    old_orders = {order["id"]: order for order in before.orders}
    changed = [order for order in data.orders if parse_time(order["updated_at"]) > ANCHOR]
    assert all(parse_time(order["updated_at"]) <= now for order in data.orders)
    new = [order for order in changed if order["id"] not in old_orders]
    assert len(new) == applied["order"] + applied["return"]
    states = Counter(order["state"] for order in new if "returns" not in order)
    assert states["COMPLETED"] > 0.85 * len(new) and states["CANCELED"] > 0
    completed_later = [o for o in new if o["state"] == "COMPLETED" and o["version"] in (2, 3) and "returns" not in o]
    assert len(completed_later) >= applied["order_complete"] > 0  # open orders completed: version + 1
    assert sum("returns" in order for order in new) == applied["return"]

    assert len(data.payments) > len(before.payments) and len(data.refunds) > len(before.refunds)
    refunded_later = [p for p in data.payments if "refund_ids" in p and parse_time(p["updated_at"]) > ANCHOR]
    assert refunded_later

    old_catalog = {obj["id"]: obj for obj in before.catalog_objects}
    edited = [obj for obj in data.catalog_objects if obj != old_catalog[obj["id"]]]
    assert edited and all(obj["version"] > old_catalog[obj["id"]]["version"] for obj in edited)
    assert all(ANCHOR < parse_time(obj["updated_at"]) <= now for obj in edited)
    repriced = [
        obj
        for obj in edited
        if obj["type"] == "ITEM_VARIATION"
        and obj["item_variation_data"]["price_money"] != old_catalog[obj["id"]]["item_variation_data"]["price_money"]
    ]
    assert repriced
    deleted = [obj for obj in edited if obj["type"] == "ITEM" and obj["is_deleted"]]
    assert deleted and all(v["is_deleted"] for item in deleted for v in item["item_data"]["variations"])
    gone = {v["id"] for item in deleted for v in item["item_data"]["variations"]}
    for order in new:
        for line in order.get("line_items", ()):
            sold_after_delete = line.get("catalog_object_id") in gone
            assert not sold_after_delete or parse_time(order["created_at"]) < max(
                parse_time(item["updated_at"]) for item in deleted
            )

    old_customers = {customer["id"]: customer for customer in before.customers}
    edited_customers = [c for c in data.customers if c != old_customers[c["id"]]]
    assert edited_customers
    for customer in edited_customers:
        assert customer["version"] > old_customers[customer["id"]]["version"]
        assert ANCHOR < parse_time(customer["updated_at"]) <= now


def test_new_orders_sell_the_new_price_of_a_repriced_variation() -> None:
    data = _data(days=3, orders_per_day=50)
    merchant = LiveMerchant(data, LiveConfig(rate=600))
    merchant.advance_to(ANCHOR + timedelta(hours=12))
    variations = {obj["id"]: obj for obj in data.catalog_objects if obj["type"] == "ITEM_VARIATION"}
    checked = 0
    for order in data.orders:
        created = parse_time(order["created_at"])
        for line in order.get("line_items", ()):
            variation = variations.get(line.get("catalog_object_id", ""))
            if variation is None or line["catalog_version"] != variation["version"] or created <= ANCHOR:
                continue
            # sold at the variation's current version: at its current price for the location
            price = variation["item_variation_data"]["price_money"]
            for override in variation["item_variation_data"].get("location_overrides", ()):
                if override["location_id"] == order["location_id"]:
                    price = override["price_money"]
            assert line["base_price_money"] == price
            checked += 1
    assert checked > 100
    sold_at: dict[str, set[int]] = {}
    for order in data.orders:
        for line in order.get("line_items", ()):
            if "catalog_object_id" in line:
                sold_at.setdefault(line["catalog_object_id"], set()).add(line["catalog_version"])
    assert any(len(versions) > 1 for versions in sold_at.values())  # sold before and after a price edit


def test_the_data_at_a_simulated_time_depends_only_on_the_seed_not_on_the_steps_taken() -> None:
    end = ANCHOR + timedelta(hours=12)
    at_once = _data(days=3, orders_per_day=60)
    LiveMerchant(at_once, LiveConfig(rate=120)).advance_to(end)
    stepped = _data(days=3, orders_per_day=60)
    merchant = LiveMerchant(stepped, LiveConfig(rate=120))
    steps = random.Random(3)
    moment = ANCHOR
    while moment < end:
        moment = min(end, moment + timedelta(seconds=steps.randrange(1, 2 * 3600)))
        merchant.advance_to(moment)
        merchant.advance_to(moment - timedelta(minutes=5))  # going back changes nothing
    assert _dump(stepped) == _dump(at_once)
    other = _data(days=3, orders_per_day=60)
    LiveMerchant(other, LiveConfig(rate=120, seed=99)).advance_to(end)
    assert _dump(other) != _dump(at_once)


@pytest.mark.parametrize(
    "check",
    [
        arithmetic.test_order_level_discounts_are_allocated_over_the_lines_and_sum_exactly,
        arithmetic.test_every_tax_entry_applies_the_sum_of_its_lines,
        arithmetic.test_every_order_total_is_its_lines_plus_tips_minus_its_returns,
        arithmetic.test_tenders_pay_exactly_the_order_total_and_cash_gives_the_right_change,
        arithmetic.test_every_return_line_points_at_a_sold_line_with_enough_quantity_left,
        arithmetic.test_returned_amounts_are_the_returned_quantitys_share_and_never_exceed_the_sold_line,
        people.test_every_return_giving_money_back_is_refunded_to_the_payments_of_its_sale,
        people.test_refunds_never_exceed_their_payment_and_the_payment_shows_them,
        people.test_card_sales_are_refunded_to_the_card_and_cash_sales_in_cash,
    ],
    ids=lambda check: check.__name__.removeprefix("test_"),
)
def test_live_changes_keep_squares_arithmetic(check: Any, advanced: tuple[DemoData, DemoData, LiveMerchant]) -> None:
    _, data, _ = advanced
    check(data)


def test_live_payments_match_their_tenders_and_states_keep_their_timestamps(
    advanced: tuple[DemoData, DemoData, LiveMerchant],
) -> None:
    _, data, merchant = advanced
    tenders = {t["id"]: (order, t) for order in data.orders for t in order.get("tenders", ())}
    payments = {payment["id"]: payment for payment in data.payments}
    assert payments.keys() == tenders.keys() and len(payments) == len(data.payments)
    for payment_id, payment in payments.items():
        order, tender = tenders[payment_id]
        assert payment["order_id"] == order["id"] and payment["total_money"] == tender["amount_money"]
        assert payment.get("customer_id") == order.get("customer_id") == tender.get("customer_id")
        assert parse_time(payment["created_at"]) <= parse_time(payment["updated_at"]) <= merchant.now
    for order in data.orders:
        created, updated = parse_time(order["created_at"]), parse_time(order["updated_at"])
        assert created < updated <= merchant.now
        if order["state"] == "COMPLETED":
            assert created <= parse_time(order["closed_at"]) <= updated
            assert order["net_amount_due_money"]["amount"] == 0
        elif order["state"] == "CANCELED":  # closed_at: when it reached a terminal state
            assert order["closed_at"] == order["updated_at"]
            assert "tenders" not in order and "returns" not in order
        else:
            assert "closed_at" not in order and "tenders" not in order and "returns" not in order


# -- over HTTP --------------------------------------------------------------------------------------


@contextmanager
def _serving(data: DemoData, clock: ManualClock, **live: Any) -> Iterator[tuple[DemoServer, httpx.Client]]:
    with (
        DemoServer(data, access_token=TOKEN, clock=clock, live=LiveConfig(**live)) as server,
        httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http,
    ):
        yield server, http


def _page_all(http: httpx.Client, method: str, path: str, request: JSONObject, key: str) -> list[JSONObject]:
    """Every page of one query, each validated by the caller's ``check`` hook."""
    found: list[JSONObject] = []
    cursor = None
    for _ in range(500):
        if method == "GET":
            response = http.get(path, params={**request, **({"cursor": cursor} if cursor else {})})
        else:
            response = http.post(path, json={**request, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        _SEEN_BODIES.append((path, body))
        found.extend(body.get(key, []))
        cursor = body.get("cursor")
        if not cursor:
            return found
    raise AssertionError("too many pages")


_SEEN_BODIES: list[tuple[str, JSONObject]] = []
SCHEMAS = {
    "/v2/orders/search": "SearchOrdersResponse",
    "/v2/payments": "ListPaymentsResponse",
    "/v2/refunds": "ListPaymentRefundsResponse",
    "/v2/customers/search": "SearchCustomersResponse",
    "/v2/catalog/search": "SearchCatalogObjectsResponse",
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_every_live_change_is_served_in_squares_schema_and_counted_in_the_stats(square_schemas: SquareSchemas) -> None:
    data = _data(days=3, orders_per_day=80)
    clock = ManualClock(ANCHOR)
    _SEEN_BODIES.clear()
    with _serving(data, clock, rate=100) as (server, http):
        assert http.get("/__demo/stats").json()["live"]["total_changes"] == 0
        clock.advance(timedelta(hours=8))
        since = {"start_at": _iso(ANCHOR)}
        ids = [location["id"] for location in data.locations]
        orders = _page_all(
            http,
            "POST",
            "/v2/orders/search",
            {
                "location_ids": ids,
                "limit": 200,
                "query": {
                    "filter": {"date_time_filter": {"updated_at": since}},
                    "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
                },
            },
            "orders",
        )
        payments = [
            payment
            for location_id in ids
            for payment in _page_all(
                http,
                "GET",
                "/v2/payments",
                {"location_id": location_id, "updated_at_begin_time": _iso(ANCHOR), "sort_field": "UPDATED_AT"},
                "payments",
            )
        ]
        refunds = _page_all(http, "GET", "/v2/refunds", {"updated_at_begin_time": _iso(ANCHOR)}, "refunds")
        customers = _page_all(
            http, "POST", "/v2/customers/search", {"query": {"filter": {"updated_at": since}}}, "customers"
        )
        catalog = _page_all(
            http,
            "POST",
            "/v2/catalog/search",
            {"object_types": ["ITEM", "ITEM_VARIATION"], "include_deleted_objects": True, "begin_time": _iso(ANCHOR)},
            "objects",
        )
        live_catalog = _page_all(http, "POST", "/v2/catalog/search", {"object_types": ["ITEM"]}, "objects")
        stats = http.get("/__demo/stats").json()["live"]
        assert server.live is not None
        with server.live.lock:
            expected_orders = {o["id"] for o in data.orders if parse_time(o["updated_at"]) >= ANCHOR}
            expected_payments = {p["id"] for p in data.payments if parse_time(p["updated_at"]) >= ANCHOR}
            expected_refunds = {r["id"] for r in data.refunds if parse_time(r["updated_at"]) >= ANCHOR}

    for path, body in _SEEN_BODIES:
        square_schemas.check(SCHEMAS[path], body)
    assert Counter(o["id"] for o in orders) == Counter(expected_orders) and len(orders) > 500
    assert {p["id"] for p in payments} == expected_payments and len(payments) == len(expected_payments)
    assert {r["id"] for r in refunds} == expected_refunds and refunds
    assert customers and all(c["version"] >= 1 for c in customers)
    assert any(obj["is_deleted"] for obj in catalog) and any(not obj["is_deleted"] for obj in catalog)
    assert not any(obj["is_deleted"] for obj in live_catalog)
    assert stats["simulated_now"] == "2025-03-03T08:00:00.000Z"
    assert stats["total_changes"] == sum(stats["changes_applied"].values()) > 800


def _pinned_orders(data: DemoData, ids: list[str], start: datetime, end_us: datetime) -> set[str]:
    return {
        order["id"]
        for order in data.orders
        if order["location_id"] in ids and start <= parse_time(order["updated_at"]) <= end_us
    }


@pytest.mark.parametrize("case", range(4))
def test_paging_orders_while_the_clock_advances_returns_each_order_of_the_pinned_query_once(case: int) -> None:
    rng = random.Random(case)
    data = _data(days=3, orders_per_day=80)
    clock = ManualClock(ANCHOR + timedelta(minutes=rng.randrange(0, 600)))
    with _serving(data, clock, rate=240) as (server, http):
        assert server.live is not None
        ids = [location["id"] for location in data.locations][: rng.choice((1, 2, 3))]
        start = ANCHOR - timedelta(hours=rng.randrange(1, 30))
        body: JSONObject = {
            "location_ids": ids,
            "query": {
                "filter": {"date_time_filter": {"updated_at": {"start_at": _iso(start)}}},
                "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
            },
        }
        seen: list[str] = []
        pinned_at = clock()
        at_pin: set[str] = set()
        cursor = None
        for _ in range(2000):
            request = {**body, "limit": rng.choice((3, 10, 40, 150))}
            if cursor:
                request["cursor"] = cursor
            page = http.post("/v2/orders/search", json=request).raise_for_status().json()
            if not at_pin:
                with server.live.lock:
                    at_pin = _pinned_orders(data, ids, start, pinned_at)  # what the query matched when pinned
            for order in page.get("orders", []):
                assert start <= parse_time(order["updated_at"]) <= pinned_at
                seen.append(order["id"])
            cursor = page.get("cursor")
            if not cursor:
                break
            clock.advance(timedelta(minutes=rng.randrange(1, 30)))  # changes land between pages
        else:
            raise AssertionError("too many pages")
        with server.live.lock:
            assert server.live.stats()["changes_applied"]["order"] > 20
            still_matching = _pinned_orders(data, ids, start, pinned_at)
            moved = {o["id"] for o in data.orders if parse_time(o["updated_at"]) > pinned_at}

    duplicates = [order_id for order_id, count in Counter(seen).items() if count > 1]
    assert not duplicates
    assert still_matching <= set(seen) <= at_pin  # nothing that still matches the pinned query is missed
    assert at_pin - still_matching <= moved  # the rest was updated after the pin: found by the next query
    assert at_pin - set(seen), "some matching order (an open one completed) moved out while paging"


# -- the real extractor ----------------------------------------------------------------------------


def _staged(db: Path) -> dict[str, set[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            "orders": set(con.execute("SELECT id, version FROM stg_orders").fetchall()),
            "payments": set(con.execute("SELECT id, refunded_amount FROM stg_payments").fetchall()),
            "refunds": set(con.execute("SELECT id, amount FROM stg_refunds").fetchall()),
            "customers": set(con.execute("SELECT id, version FROM stg_customers").fetchall()),
            "catalog": set(con.execute("SELECT id, version, is_deleted FROM stg_catalog_objects").fetchall()),
        }


def _current(data: DemoData) -> dict[str, set[tuple[Any, ...]]]:
    return {
        "orders": {(o["id"], o["version"]) for o in data.orders},
        "payments": {(p["id"], p.get("refunded_money", {}).get("amount", 0)) for p in data.payments},
        "refunds": {(r["id"], r["amount_money"]["amount"]) for r in data.refunds},
        "customers": {(c["id"], c["version"]) for c in data.customers},
        "catalog": {
            (obj["id"], obj["version"], obj["is_deleted"])
            for obj in data.catalog_objects
            if obj["type"] in ("ITEM", "ITEM_VARIATION", "CATEGORY")
        },
    }


def test_the_real_extractor_keeps_up_with_the_live_merchant(tmp_path: Path) -> None:
    # The extractor's windows end at the real wall clock: keep the simulated clock behind it.
    real_now = datetime.now(UTC).replace(microsecond=0)
    anchor = real_now - timedelta(hours=14)
    data = _data(anchor=anchor, days=5, orders_per_day=60)
    clock = ManualClock(anchor)
    db = tmp_path / "live.duckdb"
    with _serving(data, clock, rate=90) as (server, _):
        assert server.live is not None
        settings = Settings(SQUARE_ACCESS_TOKEN=TOKEN, SQUARE_BASE_URL=server.base_url)
        counts = []
        for round_ in range(4):
            if round_:
                clock.advance(timedelta(hours=4))
                assert clock() < datetime.now(UTC)
            result = asyncio.run(asyncio.wait_for(sync_warehouse(settings, db), timeout=60))
            assert result.report.ok, result.report.failed
            with server.live.lock:
                expected = _current(data)
                counts.append(server.live.stats()["total_changes"])
            staged = _staged(db)
            for stream, rows in expected.items():
                missing, extra = rows - staged[stream], staged[stream] - rows
                assert not missing and not extra, (round_, stream, sorted(missing)[:5], sorted(extra)[:5])
    assert counts[0] == 0 and counts[1] < counts[2] < counts[3]


def test_the_emulators_live_flags_build_the_live_config_and_bad_values_are_one_line_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    assert live_config(parser.parse_args(["emulator"])) is None
    assert live_config(parser.parse_args(["emulator", "--live", "--seed", "5"])) == LiveConfig(seed=5)
    args = parser.parse_args(["emulator", "--live", "--live-speed", "600", "--live-rate", "30"])
    assert live_config(args) == LiveConfig(speed=600, rate=30, seed=args.seed)
    for bad, flag in ((["--live", "--live-speed", "0"], "--live-speed"), (["--live-rate", "5"], "--live-rate")):
        assert main(["emulator", *bad, "--port", "0"]) == 1
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("square-bi: error: ") and flag in lines[0], lines


def test_the_default_live_clock_runs_speed_times_faster_than_real_time_from_the_anchor() -> None:
    real = [100.0]
    clock = SimulatedClock(ANCHOR, 60, monotonic=lambda: real[0])
    assert clock() == ANCHOR
    real[0] += 2.5
    assert clock() == ANCHOR + timedelta(minutes=2.5)
    data = _data(days=2, orders_per_day=40)
    server = DemoServer(data, access_token=TOKEN, live=LiveConfig(speed=3600))
    assert server.live is not None and server.live.now == data.anchor
