"""Sync throughput on the demo merchant, as ratios measured in one run.

    uv run python bench/bench_sync.py [--days 90] [--orders-per-day 200]

Prints:
- a per-stage profile of one page of orders (decode, validate, Arrow rows, upsert) against DuckDB's
  own ``read_json`` + ``unnest`` of the same page, with the sync's GC thresholds;
- parse cost per order: the SDK's typed response models vs our pydantic boundary models (why the
  bulk streams read Square's JSON through the SDK's HTTP layer instead of its typed methods);
- a full sync (HTTP + validation + Arrow upserts + star schema) in line items/s, against
  DuckDB-native JSON normalisation of the very same pages (the CPU floor for getting these rows
  into tables), as a ratio. The demo merchant runs in its own process (`square-bi emulator`), as
  Square would, so its JSON encoding does not share this process's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import orjson
from emulator_process import emulator
from square.core.unchecked_base_model import construct_type
from square.types.search_orders_response import SearchOrdersResponse

from square_bi.config import Settings
from square_bi.extract.records import Order, utc_now
from square_bi.extract.runner import sync_gc_thresholds
from square_bi.square.demo import DemoConfig, generate
from square_bi.warehouse.database import connect, transaction
from square_bi.warehouse.sink import StagedPage, stage_records, write_staged
from square_bi.warehouse.sync import initialize, sync_warehouse

TOKEN = "bench-token"


def _best_ms(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def stage_profile(orders: list[dict[str, Any]]) -> None:
    """Where one page's CPU goes, stage by stage (best of 3), against DuckDB-native normalisation."""
    body = orjson.dumps({"orders": orders})
    lines = sum(len(o.get("line_items", [])) for o in orders)
    with tempfile.TemporaryDirectory() as tmp, sync_gc_thresholds():
        decoded: list[dict[str, Any]] = orjson.loads(body)["orders"]
        records = [Order.model_validate(o) for o in decoded]
        synced_at = utc_now()
        con = connect(Path(tmp) / "stages.duckdb")
        initialize(con)
        stages = {
            "orjson.loads": _best_ms(lambda: orjson.loads(body)),
            "Order.model_validate": _best_ms(lambda: [Order.model_validate(o) for o in decoded]),
            "Arrow rows (stage_records)": _best_ms(lambda: stage_records("orders", records, decoded, synced_at)),
        }
        staged = stage_records("orders", records, decoded, synced_at)
        stages["upsert (one transaction)"] = _best_ms(lambda: _upsert(con, staged))
        page = Path(tmp) / "page.json"
        page.write_bytes(orjson.dumps(orders))
        native = _best_ms(lambda: native_normalise(page))
    ours = sum(stages.values())
    print(f"one page of {len(orders):,} orders ({lines:,} line items, {len(body) / 1e6:.1f} MB):")
    for name, ms in stages.items():
        print(f"  {name:28s} {ms:7.0f} ms  {ms / ours:4.0%}")
    print(f"  {'total':28s} {ours:7.0f} ms; DuckDB read_json + unnest of the same page {native:.0f} ms")
    print(f"  page ratio ours / native = {ours / native:.1f}x")


def _upsert(con: duckdb.DuckDBPyConnection, staged: StagedPage) -> None:
    with transaction(con):
        write_staged(con, staged)


def native_normalise(pages: Path) -> None:
    """DuckDB-native JSON normalisation of a file of orders (a JSON array): orders and line items."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE o AS SELECT id, location_id, state, version, updated_at, closed_at, "
        "total_money.amount AS total FROM read_json_auto(?, maximum_object_size = 100000000)",
        [str(pages)],
    )
    con.execute(
        "CREATE TABLE li AS SELECT o.id AS order_id, li.uid, li.catalog_object_id, "
        "CAST(li.quantity AS DECIMAL(18,5)) AS quantity, li.gross_sales_money.amount AS gross "
        "FROM (SELECT id, unnest(line_items) AS li FROM read_json_auto(?, maximum_object_size = 100000000)) o",
        [str(pages)],
    )
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--orders-per-day", type=int, default=200)
    args = parser.parse_args()

    data = generate(DemoConfig(days=args.days, orders_per_day=args.orders_per_day))  # what the emulator serves
    orders = list(data.orders)  # the demo store decodes each order on access: decode once
    lines = sum(len(o.get("line_items", [])) for o in orders)
    print(f"demo: {len(orders):,} orders, {lines:,} line items")

    stage_profile(orders[:5000])

    sample = orders[:500]
    page = json.loads(json.dumps({"orders": sample}))
    started = time.perf_counter()
    construct_type(type_=SearchOrdersResponse, object_=page)
    sdk_s = time.perf_counter() - started
    started = time.perf_counter()
    for order in page["orders"]:
        Order.model_validate(order)
    ours_s = time.perf_counter() - started
    print(
        f"parse 500 orders: SDK typed models {sdk_s * 1000:.0f} ms, our pydantic models {ours_s * 1000:.1f} ms "
        f"-> SDK / ours = {sdk_s / ours_s:.0f}x"
    )

    with tempfile.TemporaryDirectory() as tmp, emulator(TOKEN, args.days, args.orders_per_day) as base_url:
        db = Path(tmp) / "bench.duckdb"
        settings = Settings(SQUARE_ACCESS_TOKEN=TOKEN, SQUARE_BASE_URL=base_url)
        started = time.perf_counter()
        result = asyncio.run(sync_warehouse(settings, db, full_refresh=True))
        sync_s = time.perf_counter() - started
        assert result.report.ok, result.report.failed

        pages = Path(tmp) / "pages.json"
        pages.write_text(json.dumps(orders))
        started = time.perf_counter()
        native_normalise(pages)
        native_s = time.perf_counter() - started

    print(f"full sync (HTTP + validate + upsert + star): {sync_s:.2f} s = {lines / sync_s:,.0f} line items/s")
    native_rate = lines / native_s
    print(f"DuckDB-native JSON normalisation of the same orders: {native_s:.2f} s = {native_rate:,.0f} line items/s")
    print(f"ratio sync / native = {sync_s / native_s:.1f}x (issue 4 target: within 3x)")


if __name__ == "__main__":
    main()
