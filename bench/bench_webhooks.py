"""Webhook freshness and burst cost, as ratios measured in one run.

    uv run python bench/bench_webhooks.py [--rounds 5] [--burst-rate 40000] [--days 14]

In one process, like `square-bi serve`: the live demo merchant (manual clock, its own thread) sends
signed events to the real webhook receiver on loopback, which runs targeted syncs into a warehouse
first fully synced from the merchant. Prints:
- freshness: seconds from an order event's delivery to the order being served from the published
  snapshot (median and worst over ``--rounds`` rounds of a few new orders), against the 5 s budget;
- burst: events delivered, deliveries per second, targeted syncs and batch-retrieve calls per 1,000
  events, and seconds from the last delivery until every event was processed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr

from square_bi.config import Settings, WebhookSettings
from square_bi.server.webhooks_service import bind, serve_in_loop, webhook_receiver
from square_bi.square.demo import DemoConfig, DemoServer, generate
from square_bi.square.demo.live import LiveConfig, LiveMerchant, ManualClock
from square_bi.square.demo.webhooks import WebhookSender
from square_bi.warehouse.snapshot import open_snapshot
from square_bi.warehouse.sync import sync_warehouse

TOKEN = "bench-token"
KEY = "bench-key"


def served_orders(db: Path) -> set[str]:
    con = open_snapshot(db)
    try:
        return {row[0] for row in con.execute("SELECT order_id FROM fct_order").fetchall()}
    finally:
        con.close()


def batch_retrieves(base_url: str) -> int:
    stats = httpx.get(f"{base_url}/__demo/stats", timeout=30).json()["endpoints"]
    return int(stats.get("POST /v2/orders/batch-retrieve", {}).get("requests", 0))


async def run(rounds: int, burst_rate: float, days: int) -> None:
    # Square's clock is the real one: start the demo's 15 minutes back so every change stays in the past.
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
    data = generate(DemoConfig(seed=8, days=days, locations=3, orders_per_day=200, anchor=anchor))
    clock = ManualClock(anchor)
    merchant = LiveMerchant(data, LiveConfig(rate=600, seed=3))
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        async with DemoServer(data, access_token=TOKEN, live=merchant, clock=clock) as shop:
            settings = Settings(SQUARE_ACCESS_TOKEN=TOKEN, SQUARE_BASE_URL=shop.base_url)
            started = time.perf_counter()
            await sync_warehouse(settings, db)
            print(f"initial sync of {len(data.orders):,} orders: {time.perf_counter() - started:.1f} s")
            sock = bind("127.0.0.1", 0)
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/square"
            hook = WebhookSettings(SecretStr(KEY), url)
            async with webhook_receiver(settings, db, hook) as receiver, serve_in_loop(receiver.app, sock):
                sender = WebhookSender(url, KEY, seed=1).attach(merchant, clock).start()
                try:
                    latencies: list[float] = []
                    for _ in range(rounds):
                        before = len(sender.delivered)
                        known = served_orders(db)
                        clock.advance(timedelta(seconds=60))
                        while len(sender.delivered) == before or not sender.idle():
                            await asyncio.sleep(0.01)
                        created = {
                            event_id: at for event_id, kind, at in sender.delivered[before:] if kind == "order.created"
                        }
                        if not created:
                            continue
                        wanted = len(known) + len(created)
                        while len(served_orders(db)) < wanted:
                            await asyncio.sleep(0.02)
                        latencies.append(time.monotonic() - max(created.values()))
                        await asyncio.sleep(2.5)  # let the round's other events settle
                    if latencies:
                        print(
                            f"freshness: median {statistics.median(latencies):.2f} s, worst {max(latencies):.2f} s "
                            f"over {len(latencies)} rounds (worst / 5 s budget = {max(latencies) / 5:.2f})"
                        )
                    syncs_before, fetches_before = receiver.processor.stats.syncs, batch_retrieves(shop.base_url)
                    delivered_before = len(sender.delivered)
                    merchant.config = LiveConfig(rate=burst_rate, seed=3)  # the burst: same merchant, more orders
                    queued_before = sender.counts["queued"]
                    burst_started = time.monotonic()
                    clock.advance(timedelta(minutes=1))
                    while sender.counts["queued"] == queued_before or not sender.idle():
                        await asyncio.sleep(0.02)
                    last_delivery = time.monotonic()
                    while (await receiver.inbox.counts())["pending"]:
                        await asyncio.sleep(0.02)
                    drained = time.monotonic()
                finally:
                    sender.stop()
                events = len(sender.delivered) - delivered_before
                syncs = receiver.processor.stats.syncs - syncs_before
                fetches = batch_retrieves(shop.base_url) - fetches_before
                print(
                    f"burst: {events:,} events in {last_delivery - burst_started:.1f} s "
                    f"({events / (last_delivery - burst_started):.0f} deliveries/s), {syncs} syncs "
                    f"({syncs * 1000 / max(events, 1):.1f} per 1,000 events), {fetches} batch-retrieve calls, "
                    f"all processed {drained - last_delivery:.1f} s after the last delivery"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--burst-rate", type=float, default=40_000, help="new orders per simulated hour in the burst")
    parser.add_argument("--days", type=int, default=14, help="days of history in the warehouse")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.burst_rate, args.days))


if __name__ == "__main__":
    main()
