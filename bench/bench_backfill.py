"""A long orders backfill against a slow Square, as ratios measured in one run.

    uv run python bench/bench_backfill.py [--orders 250000] [--latency-ms 50] [--concurrency 8]

The demo merchant runs as `square-bi emulator` with injected latency in its own process; each sync
is a `square-bi sync --streams orders --full-refresh` subprocess (fresh database), so its peak RSS
is its own. Prints:
- wall time / lower bound, the lower bound being requests x latency / concurrency (target <= 1.3);
- speed-up over the same code one page at a time (concurrency 1) (target >= 5x at concurrency 8);
- line items per second of wall time, and per CPU-second of the sync process against DuckDB-native
  JSON normalisation of the same orders (target within 3x);
- peak RSS of the sync process (target < 500 MB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx
import orjson
from bench_sync import native_normalise
from emulator_process import emulator

from square_bi.square.demo import DemoConfig, generate

TOKEN = "bench-token"
CLI = [sys.executable, "-m", "square_bi.cli"]


def orders_requests(base_url: str) -> int:
    stats = httpx.get(f"{base_url}/__demo/stats", timeout=30).json()["endpoints"]
    return int(stats.get("POST /v2/orders/search", {}).get("requests", 0))


def sync(base_url: str, db: Path, concurrency: int, page_size: int) -> tuple[float, int, float, float]:
    """(seconds, orders requests made, peak RSS in MB, CPU seconds) of one full orders sync."""
    before = orders_requests(base_url)
    env = {**os.environ, "SQUARE_ACCESS_TOKEN": TOKEN, "SQUARE_BI_MAX_CONCURRENCY": str(concurrency)}
    env["SQUARE_BI_ORDERS_PAGE_SIZE"] = str(page_size)
    command = [*CLI, "sync", "--db", str(db), "--base-url", base_url, "--streams", "orders", "--full-refresh"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"sync failed with status {status}")
    return seconds, orders_requests(base_url) - before, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=250_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--page-size",
        type=int,
        default=1000,
        help="orders per page (Square allows up to 1000); smaller pages make the run more latency-bound",
    )
    args = parser.parse_args()
    per_day = max(1, args.orders // args.days)
    with (
        tempfile.TemporaryDirectory() as tmp,
        emulator(TOKEN, args.days, per_day, "--latency-ms", str(args.latency_ms)) as base_url,
    ):
        fast_s, requests, fast_rss, fast_cpu = sync(
            base_url, Path(tmp) / "fast.duckdb", args.concurrency, args.page_size
        )
        slow_s, _, slow_rss, _ = sync(base_url, Path(tmp) / "slow.duckdb", 1, args.page_size)
        with duckdb.connect(str(Path(tmp) / "fast.duckdb"), read_only=True) as con:
            (orders,) = con.execute("SELECT count(*) FROM stg_orders").fetchone() or (0,)
            (lines,) = con.execute("SELECT count(*) FROM stg_order_line_items").fetchone() or (0,)
        # The very orders the emulator serves (same config, deterministic), normalised by DuckDB alone.
        pages = Path(tmp) / "orders.json"
        pages.write_bytes(orjson.dumps(list(generate(DemoConfig(days=args.days, orders_per_day=per_day)).orders)))
        started = time.perf_counter()
        native_normalise(pages)
        native_s = time.perf_counter() - started
    bound = requests * args.latency_ms / 1000 / args.concurrency
    print(f"{orders:,} orders, {lines:,} line items, {requests} orders requests of up to {args.page_size} orders")
    print(f"{args.latency_ms} ms injected latency per request")
    print(f"concurrency {args.concurrency}: {fast_s:.1f} s; lower bound {bound:.1f} s -> ratio {fast_s / bound:.2f}")
    print(f"concurrency 1: {slow_s:.1f} s -> speed-up {slow_s / fast_s:.1f}x")
    print(f"throughput: {lines / fast_s:,.0f} line items/s")
    print(f"CPU time of the sync process: {fast_cpu:.1f} s ({fast_cpu / fast_s:.0%} of its wall time)")
    print(
        f"CPU throughput: {lines / fast_cpu:,.0f} line items per CPU-second; DuckDB-native normalisation "
        f"{lines / native_s:,.0f}/s -> ratio {native_s and fast_cpu / native_s:.1f}x (target within 3x)"
    )
    print(f"peak RSS of the sync: {fast_rss:.0f} MB (concurrency {args.concurrency}), {slow_rss:.0f} MB (serial)")


if __name__ == "__main__":
    main()
