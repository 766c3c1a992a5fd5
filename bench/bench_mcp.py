"""MCP tool latency, as ratios measured in one run.

    uv run python bench/bench_mcp.py [--calls 50]

Builds a demo warehouse, then measures for one query (net sales by week and location):
- the same SQL run directly on the serving snapshot (the floor);
- query_metrics through a stdio subprocess (what Claude Desktop does): p50 overhead in ms;
- query_metrics while a sync of the same warehouse runs in another process (snapshots at work).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from square_bi.config import Settings
from square_bi.semantic import compile_query, load_semantic_layer, to_sql
from square_bi.server.service import build_query
from square_bi.square.demo import DemoConfig, DemoServer, generate
from square_bi.square.demo.faults import FaultConfig
from square_bi.warehouse.snapshot import serving_path
from square_bi.warehouse.sync import sync_warehouse

TOKEN = "bench-token"
ARGS = {"metrics": ["net_sales", "order_count"], "group_by": ["metric_time__week", "location__name"]}


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def tool_latencies(db: Path, calls: int) -> list[float]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "square_bi.cli", "serve", "--db", str(db)])
    samples = []
    async with Client(params) as client:
        await client.call_tool("query_metrics", ARGS)  # warm up
        for _ in range(calls):
            started = time.perf_counter()
            result = await client.call_tool("query_metrics", ARGS)
            samples.append(time.perf_counter() - started)
            assert not result.is_error
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    data = generate(DemoConfig(days=90))
    with tempfile.TemporaryDirectory() as tmp, DemoServer(data, access_token=TOKEN) as square:
        db = Path(tmp) / "bench.duckdb"
        settings = Settings(SQUARE_ACCESS_TOKEN=TOKEN, SQUARE_BASE_URL=square.base_url)
        asyncio.run(sync_warehouse(settings, db))

        layer = load_semantic_layer()
        sql = to_sql(compile_query(layer, build_query(**ARGS)))
        direct = []
        for _ in range(args.calls):
            started = time.perf_counter()
            con = duckdb.connect(str(serving_path(db)), read_only=True)
            con.execute(sql).fetchall()
            con.close()
            direct.append(time.perf_counter() - started)

        idle = asyncio.run(tool_latencies(db, args.calls))

        with DemoServer(data, access_token=TOKEN, faults=FaultConfig(latency_ms=20)) as slow:
            command = [sys.executable, "-m", "square_bi.cli", "sync", "--db", str(db), "--full-refresh"]
            env = {"SQUARE_ACCESS_TOKEN": TOKEN, "SQUARE_BASE_URL": slow.base_url, "SQUARE_BI_ORDERS_PAGE_SIZE": "100"}
            writer = subprocess.Popen(
                command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            busy = asyncio.run(tool_latencies(db, args.calls))
            still_syncing = writer.poll() is None
            writer.wait(timeout=600)

    print(f"direct SQL on the snapshot (open + run + close): p50 {p50(direct):.1f} ms")
    print(f"query_metrics over stdio: p50 {p50(idle):.1f} ms -> overhead {p50(idle) - p50(direct):.1f} ms")
    print(
        f"query_metrics over stdio during a sync in another process: p50 {p50(busy):.1f} ms "
        f"(ratio to idle {p50(busy) / p50(idle):.2f}; sync still running at the end: {still_syncing})"
    )


if __name__ == "__main__":
    main()
