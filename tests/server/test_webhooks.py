"""Square's webhooks, end to end with real parts: the live demo merchant on loopback sends signed
events to the real webhook HTTP server, which stores them in its DuckDB inbox and runs targeted
syncs into a real warehouse; answers come from the published snapshot and a real MCP client.

Expectations come from the demo merchant's own API (plain httpx), never from our tables.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from pydantic import SecretStr

from shop_support import DEMO_TOKEN, demo_settings
from square_bi.config import WebhookSettings
from square_bi.server.app import build_server
from square_bi.server.scheduler import SyncScheduler
from square_bi.server.webhooks_inbox import InboxEvent, WebhookInbox
from square_bi.server.webhooks_processor import plan_work
from square_bi.server.webhooks_service import WebhookReceiver, bind, serve_in_loop, webhook_receiver
from square_bi.square.demo import DemoConfig, DemoServer, generate
from square_bi.square.demo.live import LiveConfig, LiveMerchant, ManualClock
from square_bi.square.demo.webhooks import WebhookSender, sign
from square_bi.warehouse.snapshot import open_snapshot, serving_path, sync_lock
from square_bi.warehouse.sync import sync_targeted, sync_warehouse

KEY = "whsec-test-key"
SIGNATURE = "x-square-hmacsha256-signature"


@dataclass
class Rig:
    """A live demo merchant (manual clock), a warehouse synced from it, and the webhook receiver."""

    shop: DemoServer
    clock: ManualClock
    merchant: LiveMerchant
    db: Path
    url: str
    receiver: WebhookReceiver

    def sender(self, **options: Any) -> WebhookSender:
        return WebhookSender(self.url, KEY, seed=3, **options).attach(self.merchant, self.clock)

    def demo_stats(self) -> dict[str, int]:
        """Requests per endpoint, as the demo merchant counted them."""
        body = httpx.get(f"{self.shop.base_url}/__demo/stats", timeout=10).json()
        return {name: entry["requests"] for name, entry in body["endpoints"].items()}

    def batch_retrieves(self) -> int:
        return self.demo_stats().get("POST /v2/orders/batch-retrieve", 0)


@dataclass
class LiveShop:
    shop: DemoServer
    clock: ManualClock
    merchant: LiveMerchant
    db: Path


@asynccontextmanager
async def live_shop(tmp_path: Path, *, rate: float) -> AsyncIterator[LiveShop]:
    """A live demo merchant on a manual clock, and a warehouse fully synced from it.

    Square's clock is the real one, and an incremental sync reads up to the real now; so the demo's
    clock starts ten minutes in the past and the tests move it at most that far."""
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    data = generate(DemoConfig(seed=21, days=3, locations=2, orders_per_day=60, anchor=anchor))
    clock = ManualClock(anchor)
    merchant = LiveMerchant(data, LiveConfig(rate=rate, seed=7))
    async with DemoServer(data, access_token=DEMO_TOKEN, live=merchant, clock=clock) as shop:
        db = tmp_path / "shop.duckdb"
        initial = await sync_warehouse(demo_settings(shop.base_url), db)
        assert initial.report.ok, initial.report.failed
        yield LiveShop(shop, clock, merchant, db)


@asynccontextmanager
async def live_rig(tmp_path: Path, *, rate: float = 600.0) -> AsyncIterator[Rig]:
    """The live shop plus the real webhook receiver on a loopback port (no scheduler)."""
    async with live_shop(tmp_path, rate=rate) as live:
        settings = demo_settings(live.shop.base_url)
        sock = bind("127.0.0.1", 0)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/square"
        async with (
            webhook_receiver(settings, live.db, WebhookSettings(SecretStr(KEY), url)) as receiver,
            serve_in_loop(receiver.app, sock),
        ):
            yield Rig(live.shop, live.clock, live.merchant, live.db, url, receiver)


async def until(
    condition: Callable[[], bool | Awaitable[bool]], timeout_s: float = 60, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        reached = condition()
        if not isinstance(reached, bool):
            reached = await reached
        if reached:
            return
        assert time.monotonic() < deadline, f"{what} not reached within {timeout_s} s"
        await asyncio.sleep(0.05)


def order_event(order_id: str, *, event_id: str | None = None, version: int = 2) -> str:
    """An ``order.updated`` event as Square sends it (id, version, state, location only)."""
    event = {
        "merchant_id": "M",
        "type": "order.updated",
        "event_id": event_id or str(uuid.uuid4()),
        "created_at": "2026-11-02T00:00:01.000Z",
        "data": {
            "type": "order_updated",
            "id": order_id,
            "object": {"order_updated": {"order_id": order_id, "version": version, "state": "COMPLETED"}},
        },
    }
    return json.dumps(event)


async def post(url: str, body: str, signature: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers[SIGNATURE] = signature
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url, content=body.encode(), headers=headers)


def raw_orders(base_url: str) -> list[dict[str, Any]]:
    """Every order of the demo merchant, paged by hand over its API."""
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        locations = [loc["id"] for loc in http.get("/v2/locations").raise_for_status().json()["locations"]]
        orders: list[dict[str, Any]] = []
        cursor = None
        while True:
            request: dict[str, Any] = {"location_ids": locations, "limit": 1000}
            if cursor:
                request["cursor"] = cursor
            page = http.post("/v2/orders/search", json=request).raise_for_status().json()
            orders.extend(page.get("orders", []))
            cursor = page.get("cursor")
            if not cursor:
                return orders


def raw_payments(base_url: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    payments: list[dict[str, Any]] = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        for location in http.get("/v2/locations").raise_for_status().json()["locations"]:
            cursor = None
            while True:
                params = {"location_id": location["id"], "begin_time": "2009-01-01T00:00:00Z", "limit": 100}
                if cursor:
                    params["cursor"] = cursor
                page = http.get("/v2/payments", params=params).raise_for_status().json()
                payments.extend(page.get("payments", []))
                cursor = page.get("cursor")
                if not cursor:
                    break
    return payments


def has_fact_lines(order: dict[str, Any]) -> bool:
    """Whether the order belongs in fct_order_line_item: completed, with a sale or return line that is
    not a gift card (the fact table's definition, restated from Square's JSON)."""
    lines = [*order.get("line_items", [])]
    for order_return in order.get("returns", []):
        lines.extend(order_return.get("return_line_items", []))
    return order["state"] == "COMPLETED" and any(line.get("item_type") != "GIFT_CARD" for line in lines)


def fact_line_counts(order: dict[str, Any]) -> tuple[int, int]:
    """(sale lines, return lines) of an order that are not gift cards."""
    sales = [line for line in order.get("line_items", []) if line.get("item_type") != "GIFT_CARD"]
    returns = [
        line
        for order_return in order.get("returns", [])
        for line in order_return.get("return_line_items", [])
        if line.get("item_type") != "GIFT_CARD"
    ]
    return len(sales), len(returns)


def served(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = open_snapshot(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def served_order_ids(db: Path) -> set[str]:
    """Orders with rows in fct_order_line_item (what the sales metrics read)."""
    return {row[0] for row in served(db, "SELECT DISTINCT order_id FROM fct_order_line_item")}


def known_order_ids(db: Path) -> set[str]:
    """Every order in the warehouse, whatever its state."""
    return {row[0] for row in served(db, "SELECT order_id FROM fct_order")}


async def inbox_is_drained(rig: Rig) -> bool:
    return (await rig.receiver.inbox.counts())["pending"] == 0


# -- the receiver: signatures, malformed bodies, repeats --------------------------------------------


async def test_a_forged_or_missing_signature_gets_401_is_logged_without_the_body_and_stores_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with live_rig(tmp_path) as rig:
        order_id = raw_orders(rig.shop.base_url)[0]["id"]
        body = order_event(order_id)
        with caplog.at_level(logging.INFO):
            missing = await post(rig.url, body, None)
            forged = await post(rig.url, body, sign(rig.url, body, "not-the-key"))
            wrong_url = await post(rig.url, body, sign("https://example.com/webhooks/square", body, KEY))
            tampered_body = body.replace('"version": 2', '"version": 3')
            assert tampered_body != body
            tampered = await post(rig.url, tampered_body, sign(rig.url, body, KEY))
        counts = await rig.receiver.inbox.counts()
    assert [r.status_code for r in (missing, forged, wrong_url, tampered)] == [401, 401, 401, 401]
    assert counts == {"pending": 0, "processed": 0}
    assert "rejected" in caplog.text
    assert order_id not in caplog.text and KEY not in caplog.text


async def test_a_malformed_body_gets_400_and_changes_nothing(tmp_path: Path) -> None:
    async with live_rig(tmp_path) as rig:
        published = serving_path(rig.db).stat().st_mtime_ns
        requests_before = rig.demo_stats()
        bodies = [
            "{not json",
            "[]",
            json.dumps({"type": "order.updated", "data": {"id": "X"}}),  # no event_id
            json.dumps({"event_id": "e-1", "data": {"id": "X"}}),  # no type
            json.dumps({"event_id": "", "type": "order.updated"}),
        ]
        answers = [await post(rig.url, body, sign(rig.url, body, KEY)) for body in bodies]
        await asyncio.sleep(rig.receiver.processor.max_wait_s + 0.5)  # a sync, if any, would have started
        counts = await rig.receiver.inbox.counts()
        requests_after = rig.demo_stats()
    assert [a.status_code for a in answers] == [400] * len(bodies)
    assert counts == {"pending": 0, "processed": 0}
    assert serving_path(rig.db).stat().st_mtime_ns == published
    assert requests_after == requests_before


async def test_a_repeated_delivery_is_acknowledged_ignored_and_causes_no_second_fetch(tmp_path: Path) -> None:
    async with live_rig(tmp_path) as rig:
        order_id = raw_orders(rig.shop.base_url)[0]["id"]
        body = order_event(order_id, event_id="evt-repeat-1")
        signature = sign(rig.url, body, KEY)
        before = rig.batch_retrieves()
        first = await post(rig.url, body, signature)
        await until(lambda: inbox_is_drained(rig), what="the first delivery processed")
        after_first = rig.batch_retrieves()
        replayed = [await post(rig.url, body, signature) for _ in range(3)]
        await asyncio.sleep(rig.receiver.processor.max_wait_s + 0.5)  # a sync, if any, would have started
        after_replays = rig.batch_retrieves()
        counts = await rig.receiver.inbox.counts()
    assert first.status_code == 200 and first.json() == {"status": "accepted"}
    assert all(r.status_code == 200 and r.json() == {"status": "duplicate"} for r in replayed)
    assert after_first == before + 1
    assert after_replays == after_first
    assert counts == {"pending": 0, "processed": 1}


def test_events_are_grouped_into_order_ids_to_fetch_and_streams_to_re_read() -> None:
    events = [
        InboxEvent("e1", "order.created", "O1"),
        InboxEvent("e2", "order.updated", "O1"),
        InboxEvent("e3", "order.fulfillment.updated", "O2"),
        InboxEvent("e4", "payment.updated", "P1"),
        InboxEvent("e5", "refund.created", "R1"),
        InboxEvent("e6", "customer.deleted", "C1"),
        InboxEvent("e7", "catalog.version.updated", None),
        InboxEvent("e8", "team_member.created", "T1"),
        InboxEvent("e9", "labor.shift.created", "S1"),
        InboxEvent("e10", "order.updated", None),
    ]
    plan = plan_work(events)
    assert plan.order_ids == ["O1", "O2"]
    assert plan.events_by_order == {"O1": ["e1", "e2"], "O2": ["e3"]}
    assert plan.streams == ["payments", "refunds", "customers", "catalog", "team_members"]
    assert plan.ignored == ["e9", "e10"]


# -- targeted syncs from the live merchant's events ---------------------------------------------------


async def test_each_new_order_is_served_within_seconds_of_its_event_without_the_scheduler(tmp_path: Path) -> None:
    async with live_rig(tmp_path) as rig:
        known = known_order_ids(rig.db)
        async with Client(build_server(rig.db)) as client:
            with rig.sender() as sender:
                rig.clock.advance(timedelta(minutes=3))
                await until(lambda: bool(sender.counts["queued"]) and sender.idle())
                created = {event_id: at for event_id, kind, at in sender.delivered if kind == "order.created"}
                orders = raw_orders(rig.shop.base_url)
                new_ids = {o["id"] for o in orders} - known
                with_lines = {o["id"] for o in orders if o["id"] in new_ids and has_fact_lines(o)}
                seen_at: dict[str, float] = {}

                def every_new_order_served() -> bool:
                    now, served_ids = time.monotonic(), served_order_ids(rig.db)
                    seen_at.update({order_id: now for order_id in with_lines - set(seen_at) if order_id in served_ids})
                    return set(seen_at) == with_lines

                await until(every_new_order_served, timeout_s=30, what="every new order in fct_order_line_item")
            answer = await client.call_tool("query_metrics", {"metrics": ["order_count"]})
        processed = rig.receiver.processor.stats
    assert len(new_ids) >= 5 and len(created) == len(new_ids)
    latest_event = max(created.values())
    latency = max(seen_at.values()) - latest_event
    assert latency < 5.0, f"served {latency:.2f} s after the last order event (limit: 5 s)"
    expected = sum(1 for o in orders if o["state"] == "COMPLETED" and fact_line_counts(o)[0] > 0)  # metric's rule
    assert not answer.is_error and int(answer.structured_content["rows"][0][0]) == expected  # type: ignore[index]
    assert processed.syncs >= 1 and processed.failures == 0


async def test_a_burst_of_events_costs_a_handful_of_syncs_and_ends_equal_to_the_merchant(tmp_path: Path) -> None:
    async with live_rig(tmp_path, rate=40_000.0) as rig:
        fetches_before = rig.batch_retrieves()
        with rig.sender(duplicate_rate=0.05, reorder_rate=0.1) as sender:
            rig.clock.advance(timedelta(minutes=1))
            await until(lambda: bool(sender.counts["queued"]) and sender.idle(), timeout_s=120)
        await until(lambda: inbox_is_drained(rig), timeout_s=60, what="every event processed")
        stats = rig.receiver.processor.stats
        fetches = rig.batch_retrieves() - fetches_before
        orders = raw_orders(rig.shop.base_url)
        payments = raw_payments(rig.shop.base_url)
    assert sender.counts["delivered"] >= 1000, sender.counts
    assert sender.counts["duplicates"] > 0 and sender.counts["reordered"] > 0
    assert 1 <= stats.syncs <= 10, (stats, sender.counts)  # a handful, against one per event without debouncing
    order_events = sum(1 for _, kind, _ in sender.delivered if kind.startswith("order."))
    assert fetches <= stats.syncs + order_events // 100 + 1
    served_orders = served(rig.db, "SELECT order_id, order_state, total_amount, tender_count FROM fct_order")
    expected_orders = {(o["id"], o["state"], o["total_money"]["amount"], len(o.get("tenders", []))) for o in orders}
    assert set(served_orders) == expected_orders
    served_lines = served(
        rig.db,
        "SELECT order_id, count(*) FILTER (WHERE NOT is_return), count(*) FILTER (WHERE is_return) "
        "FROM fct_order_line_item GROUP BY order_id",
    )
    expected_lines = {(o["id"], *fact_line_counts(o)) for o in orders if has_fact_lines(o)}
    assert set(served_lines) == expected_lines
    served_payments = served(rig.db, "SELECT payment_id, status, total_amount, refunded_amount FROM fct_payment")
    expected_payments = {
        (p["id"], p["status"], p["total_money"]["amount"], (p.get("refunded_money") or {}).get("amount", 0))
        for p in payments
    }
    assert set(served_payments) == expected_payments


async def test_events_acknowledged_before_a_restart_are_processed_after_it(tmp_path: Path) -> None:
    async with live_shop(tmp_path, rate=600.0) as live:
        live.clock.advance(timedelta(minutes=5))
        new_ids = {o["id"] for o in raw_orders(live.shop.base_url)} - known_order_ids(live.db)
        # Acknowledged by a receiver that stopped before processing them:
        inbox = WebhookInbox(live.db).open()
        try:
            for order_id in sorted(new_ids):
                assert await inbox.add(InboxEvent(f"evt-{order_id}", "order.created", order_id))
        finally:
            inbox.close()
        hook = WebhookSettings(SecretStr(KEY), "https://shop.example/webhooks/square")
        async with webhook_receiver(demo_settings(live.shop.base_url), live.db, hook) as restarted:

            async def drained() -> bool:
                return (await restarted.inbox.counts())["pending"] == 0

            await until(drained, what="the events pending from before the restart processed")
            counts = await restarted.inbox.counts()
    assert len(new_ids) >= 5
    assert new_ids <= known_order_ids(live.db)
    assert counts == {"pending": 0, "processed": len(new_ids)}


async def test_events_wait_while_another_process_syncs_and_are_processed_after(tmp_path: Path) -> None:
    async with live_rig(tmp_path) as rig:
        order_id = raw_orders(rig.shop.base_url)[0]["id"]
        body = order_event(order_id)
        with sync_lock(rig.db):  # as another process would hold it
            answer = await post(rig.url, body, sign(rig.url, body, KEY))
            await until(lambda: rig.receiver.processor.stats.busy_retries >= 1)
            waiting = await rig.receiver.inbox.counts()
        await until(lambda: inbox_is_drained(rig), what="the waiting event processed once the lock is free")
        counts = await rig.receiver.inbox.counts()
    assert answer.status_code == 200
    assert waiting == {"pending": 1, "processed": 0}
    assert counts == {"pending": 0, "processed": 1}


async def test_the_inbox_forgets_processed_events_after_a_while_but_never_pending_ones(tmp_path: Path) -> None:
    inbox = WebhookInbox(tmp_path / "shop.duckdb").open()
    try:
        for event_id in ("done", "waiting"):
            assert await inbox.add(InboxEvent(event_id, "order.updated", "O1"))
        await inbox.mark_processed(["done"])
        kept = await inbox.prune(older_than=timedelta(days=1))
        removed = await inbox.prune(older_than=timedelta(0))
        counts = await inbox.counts()
        pending = await inbox.pending()
    finally:
        inbox.close()
    assert (kept, removed) == (0, 1)
    assert counts == {"pending": 1, "processed": 0}
    assert [event.event_id for event in pending] == ["waiting"]


async def test_a_webhook_pass_over_payments_does_not_make_stale_orders_look_fresh(
    shop: DemoServer, tmp_path: Path
) -> None:
    settings = demo_settings(shop.base_url)
    db = tmp_path / "payments-only.duckdb"
    result = await sync_targeted(settings, db, streams=["payments"])
    assert result.report is not None and result.report.ok
    assert SyncScheduler(settings, db, timedelta(hours=1)).data_is_stale() is True
