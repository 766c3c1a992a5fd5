"""A long orders backfill against a slow Square, as ratios measured in one run, per page size.

    uv run python bench/bench_backfill.py [--orders 250000] [--days 180] [--latency-ms 50]
        [--concurrency 8] [--page-sizes 100,1000] [--growth]

Set-up: the demo merchant runs as `square-bi emulator` in its own process with the injected latency
(one emulator for the whole run). For each page size (`SQUARE_BI_ORDERS_PAGE_SIZE`), each sync is a
`square-bi sync --streams orders --full-refresh` subprocess into a fresh DuckDB file, so its CPU
time (from `wait4`) and peak RSS (its own `VmHWM`) are its own. Per page size it prints:

- requests: the `POST /v2/orders/search` requests the emulator served during the concurrency-8 sync
  (its own counter; `sync_runs.requests` is shown beside it);
- lower bound = requests x latency / concurrency limit: what the extraction cannot beat;
- extraction wall time = the orders stream's `seconds` in the sync's `sync_runs` table (every page
  of every window fetched, validated and committed). Ratio = extraction / lower bound (target
  <= 1.3). The whole process's wall time and the part outside the extraction (Python start-up and
  imports, the locations stream, the star schema build and snapshot publish) are printed too;
- CPU floor = (the sync process's CPU + the demo merchant's CPU while it ran) / the machine's CPUs:
  the emulator shares the cores with the sync here (Square's servers would not), so on a small
  machine this, not the latency bound, is what the wall time cannot beat;
- speed-up = extraction wall time at concurrency 1 / at concurrency 8, same code (target >= 5x);
- CPU throughput, line items per CPU-second: ours = user + system CPU of the concurrency-8 sync
  process (all its threads, DuckDB's too) at the moment it logs that its streams are done
  (`square-bi -v sync` logs "streams done; building the star schema"; read from `/proc/<pid>/stat`
  as the line arrives): start-up, imports, HTTP, validation and every commit, but not the star
  schema's build and publish that follow, which the native side does not do either. The start-up
  alone is measured and shown, and so is the ratio for the whole process; native = `native_normalise`
  (bench_sync.py) in this process, `getrusage(RUSAGE_SELF)` before and after (DuckDB's threads are
  in-process), on the very pages Square served: fetched with httpx beforehand (not timed) as the
  sync asks for them (all locations, sorted by UPDATED_AT, following `cursor`), one file per
  response body. It builds the same four staging tables (stg_orders with `raw`,
  stg_order_line_items, stg_order_return_line_items, stg_order_tenders) with our DDL in a DuckDB
  file. Target: ours within 3x of native;
- whether the native tables equal the sync's (every column but `_synced_at`; `raw` as JSON
  values), with the differing row counts when they do not: the bench exits non-zero then;
- peak RSS of the sync processes (target < 500 MB at ~250k line items).

`--growth` also syncs (concurrency 8, the largest page size) about 250k and about 1M line items, each
from its own emulator over the same days (orders per day scaled by the first run's line items per
order), and prints both peak RSS and the growth (target < 25%).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
from bench_sync import NATIVE_TABLES, native_normalise
from emulator_process import cpu_seconds, emulator, process_cpu_seconds

from square_bi.warehouse.sync import STREAMS_DONE

TOKEN = "bench-token"
CLI = [sys.executable, "-m", "square_bi.cli"]
MAX_LOCATIONS_PER_SEARCH = 10


@dataclass(frozen=True)
class SyncRun:
    """One `square-bi sync` process."""

    wall_s: float
    cpu_s: float
    streams_cpu_s: float
    """the process's CPU when its streams were done: start-up and extraction, not the star schema"""
    peak_rss_mb: float
    requests: int
    """orders searches the emulator served while it ran"""
    extraction_s: float
    """the orders stream's sync_runs.seconds"""
    runs_requests: int
    runs_pages: int
    server_cpu_s: float
    """CPU the emulator used while it ran (it shares the machine's cores with the sync)"""
    orders: int
    line_items: int


def orders_requests(base_url: str) -> int:
    stats = httpx.get(f"{base_url}/__demo/stats", timeout=30).json()["endpoints"]
    return int(stats.get("POST /v2/orders/search", {}).get("requests", 0))


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    rows = con.execute(sql).fetchall()
    if len(rows) != 1:
        raise RuntimeError(f"expected one row from {sql!r}, got {len(rows)}")
    return tuple(rows[0])


class StreamsDoneCpu:
    """Reads a sync's log lines (stderr) as they come, and its CPU at the moment it logs
    :data:`STREAMS_DONE`; keeps the lines for an error message."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.cpu_s: float | None = None
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            if self.cpu_s is None and STREAMS_DONE in line:
                self.cpu_s = process_cpu_seconds(self._process.pid)
            self.lines.append(line)

    def join(self) -> None:
        self._thread.join()


class PeakRss:
    """The peak RSS of a child process, from its own ``VmHWM`` (read every 20 ms until it exits).

    Not ``wait4``'s ``ru_maxrss``: Linux carries the parent's high-water mark into a child across
    fork and exec, so a child of a big benchmark process reported the benchmark's memory (1985 MB
    for a sync whose own peak was about 600 MB)."""

    def __init__(self, pid: int) -> None:
        self.kb = 0
        self._path = Path(f"/proc/{pid}/status")
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                for line in self._path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.kb = max(self.kb, int(line.split()[1]))
            except (OSError, ValueError):
                pass  # gone, or a zombie with no memory left to report
            self._done.wait(0.02)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.kb / 1024


def sync(base_url: str, db: Path, concurrency: int, page_size: int) -> SyncRun:
    """One full orders sync in its own process, into a fresh database."""
    before = orders_requests(base_url)
    server_before = cpu_seconds(base_url)
    env = {**os.environ, "SQUARE_ACCESS_TOKEN": TOKEN, "SQUARE_BI_MAX_CONCURRENCY": str(concurrency)}
    env["SQUARE_BI_ORDERS_PAGE_SIZE"] = str(page_size)
    command = [*CLI, "-v", "sync", "--db", str(db), "--base-url", base_url, "--streams", "orders", "--full-refresh"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = PeakRss(process.pid)
    streams_done = StreamsDoneCpu(process)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    peak.stop()
    streams_done.join()
    log = "".join(streams_done.lines[-20:])
    if status != 0:
        raise RuntimeError(f"sync failed with status {status}:\n{log}")
    if streams_done.cpu_s is None:
        raise RuntimeError(f"the sync never logged {STREAMS_DONE!r} (was it run without -v?):\n{log}")
    requests = orders_requests(base_url) - before
    server_cpu = cpu_seconds(base_url) - server_before
    with duckdb.connect(str(db), read_only=True) as con:
        seconds, pages, runs_requests = _one(
            con, "SELECT seconds, pages, requests FROM sync_runs WHERE stream = 'orders' AND status = 'succeeded'"
        )
        (orders,) = _one(con, "SELECT count(*) FROM stg_orders")
        (lines,) = _one(con, "SELECT count(*) FROM stg_order_line_items")
    return SyncRun(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        streams_cpu_s=streams_done.cpu_s,
        peak_rss_mb=peak.mb,
        requests=requests,
        extraction_s=float(seconds),
        runs_requests=int(runs_requests),
        runs_pages=int(pages),
        server_cpu_s=server_cpu,
        orders=int(orders),
        line_items=int(lines),
    )


def startup_cpu_s() -> float:
    """CPU seconds of a process that only starts Python and imports what `square-bi sync` imports."""
    code = "import square_bi.cli, square_bi.warehouse.sync"
    process = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError("importing square_bi failed")
    return usage.ru_utime + usage.ru_stime


def fetch_pages(base_url: str, page_size: int, directory: Path) -> list[Path]:
    """Every order page as Square serves it, one response body per file (as the sync asks: all
    locations in batches of 10, sorted by UPDATED_AT ascending, following `cursor`)."""
    directory.mkdir(parents=True)
    pages: list[Path] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        response = client.get("/v2/locations")
        response.raise_for_status()
        location_ids = sorted(location["id"] for location in response.json().get("locations", []))
        for start in range(0, len(location_ids), MAX_LOCATIONS_PER_SEARCH):
            body: dict[str, object] = {
                "location_ids": location_ids[start : start + MAX_LOCATIONS_PER_SEARCH],
                "query": {"sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}},
                "limit": page_size,
            }
            while True:
                response = client.post("/v2/orders/search", json=body)
                response.raise_for_status()
                page = directory / f"page-{len(pages):06d}.json"
                page.write_bytes(response.content)
                pages.append(page)
                cursor = orjson.loads(response.content).get("cursor")
                if not cursor:
                    break
                body["cursor"] = cursor
    return pages


@dataclass(frozen=True)
class NativeRun:
    cpu_s: float
    wall_s: float
    pages: int
    megabytes: float


def run_native(pages: list[Path], db: Path) -> NativeRun:
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    native_normalise(pages, db)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return NativeRun(cpu, wall, len(pages), sum(page.stat().st_size for page in pages) / 1e6)


@dataclass(frozen=True)
class TableDifference:
    only_native: int
    only_ours: int
    raw_differs: list[tuple[Any, ...]]
    """keys of the rows whose ``raw`` JSON differs (counted in both numbers above)"""


def compare_tables(native_db: Path, sync_db: Path) -> dict[str, TableDifference]:
    """Per staging table that differs: rows only in the native table, rows only in the sync's,
    counted with EXCEPT ALL on every column but `_synced_at` and `raw`; `raw` is compared as JSON
    values (as text, then parsed where the texts differ). Empty when all four are equal."""
    differences: dict[str, TableDifference] = {}
    with duckdb.connect(str(native_db), read_only=True) as con:
        con.execute(f"ATTACH '{sync_db}' AS ours (READ_ONLY)")
        for table in NATIVE_TABLES:
            columns = ", ".join(c for c in table.column_names if c not in ("raw", "_synced_at"))
            only = []
            for left, right in (("main", "ours"), ("ours", "main")):
                sql = (
                    f"SELECT count(*) FROM (SELECT {columns} FROM {left}.{table.name} "  # noqa: S608 (our own names)
                    f"EXCEPT ALL SELECT {columns} FROM {right}.{table.name})"
                )
                only.append(int(_one(con, sql)[0]))
            raw_differs: list[tuple[Any, ...]] = []
            if "raw" in table.column_names:
                keys = ", ".join(f"n.{k}" for k in table.key)
                on = " AND ".join(f"n.{k} = o.{k}" for k in table.key)
                texts = con.execute(
                    f"SELECT {keys}, n.raw::VARCHAR, o.raw::VARCHAR FROM main.{table.name} n "  # noqa: S608 (our own names)
                    f"JOIN ours.{table.name} o ON {on} WHERE n.raw::VARCHAR <> o.raw::VARCHAR"
                ).fetchall()
                raw_differs = [row[:-2] for row in texts if orjson.loads(row[-2]) != orjson.loads(row[-1])]
            if any(only) or raw_differs:
                differences[table.name] = TableDifference(
                    only[0] + len(raw_differs), only[1] + len(raw_differs), raw_differs
                )
    return differences


def show_differences(native_db: Path, sync_db: Path, table: str, difference: TableDifference, limit: int = 3) -> None:
    """A few differing rows each way, to tell which side is wrong."""
    spec = next(t for t in NATIVE_TABLES if t.name == table)
    columns = ", ".join(c for c in spec.column_names if c not in ("raw", "_synced_at"))
    with duckdb.connect(str(native_db), read_only=True) as con:
        con.execute(f"ATTACH '{sync_db}' AS ours (READ_ONLY)")
        for label, left, right in (("native only", "main", "ours"), ("sync only", "ours", "main")):
            rows = con.execute(
                f"SELECT {columns} FROM {left}.{table} EXCEPT ALL "  # noqa: S608 (our own names)
                f"SELECT {columns} FROM {right}.{table} LIMIT {limit}"
            ).fetchall()
            for row in rows:
                print(f"    {table}, {label}: {row}")
    for key in difference.raw_differs[:limit]:
        print(f"    {table}: raw JSON differs for {spec.key} = {key}")


def compare(
    base_url: str, work: Path, page_size: int, concurrency: int, latency_ms: int, startup_s: float
) -> tuple[bool, SyncRun]:
    """The whole comparison at one page size; prints its block. (native tables equal ours, the
    concurrency-8 sync)."""
    fast = sync(base_url, work / "fast.duckdb", concurrency, page_size)
    slow = sync(base_url, work / "slow.duckdb", 1, page_size)
    pages = fetch_pages(base_url, page_size, work / "pages")
    native = run_native(pages, work / "native.duckdb")
    differences = compare_tables(work / "native.duckdb", work / "fast.duckdb")

    lines = fast.line_items
    bound = fast.requests * latency_ms / 1000 / concurrency
    outside = fast.wall_s - fast.extraction_s
    ours_rate, native_rate = lines / fast.cpu_s, lines / native.cpu_s
    streams_rate = lines / fast.streams_cpu_s
    print(f"page size {page_size}:")
    print(
        f"  {fast.orders:,} orders, {lines:,} line items; {fast.requests:,} orders requests "
        f"(sync_runs: {fast.runs_requests:,} requests, {fast.runs_pages:,} pages), {latency_ms} ms latency each"
    )
    print(
        f"  extraction (orders stream, sync_runs.seconds) at concurrency {concurrency}: {fast.extraction_s:.1f} s; "
        f"lower bound {fast.requests:,} x {latency_ms} ms / {concurrency} = {bound:.1f} s "
        f"-> ratio {fast.extraction_s / bound:.2f} (target <= 1.3)"
    )
    print(
        f"  whole sync process: {fast.wall_s:.1f} s wall = {fast.extraction_s:.1f} s extraction + {outside:.1f} s "
        f"outside it (start-up, imports, locations, star schema, publish)"
    )
    cores = os.cpu_count() or 1
    print(
        f"  CPU floor: the sync process used {fast.cpu_s:.1f} CPU-s and the demo merchant {fast.server_cpu_s:.1f} "
        f"meanwhile, on {cores} CPUs: no schedule fits them in under "
        f"{(fast.cpu_s + fast.server_cpu_s) / cores:.1f} s (the process took {fast.wall_s:.1f} s)"
    )
    print(
        f"  concurrency 1: extraction {slow.extraction_s:.1f} s (whole process {slow.wall_s:.1f} s) "
        f"-> speed-up {slow.extraction_s / fast.extraction_s:.1f}x (target >= 5x)"
    )
    print(
        f"  CPU, ours: {fast.streams_cpu_s:.1f} CPU-s when its streams were done (start-up and imports, "
        f"~{startup_s:.1f} of it, and the extraction) = {streams_rate:,.0f} line items per CPU-second; "
        f"{fast.cpu_s:.1f} CPU-s for the whole process (with the star schema's build and publish; "
        f"wall {fast.wall_s:.1f} s) = {ours_rate:,.0f}"
    )
    print(
        f"  CPU, DuckDB-native normalisation of the same {native.pages:,} pages ({native.megabytes:,.0f} MB) "
        f"into the same 4 staging tables: {native.cpu_s:.2f} CPU-s ({native.wall_s:.2f} s wall) "
        f"= {native_rate:,.0f} line items per CPU-second"
    )
    print(
        f"  CPU throughput ours / native: extraction {native_rate / streams_rate:.1f}x slower (target within 3x); "
        f"whole process {native_rate / ours_rate:.1f}x"
    )
    if differences:
        detail = "; ".join(
            f"{t}: {d.only_native:,} rows only native, {d.only_ours:,} only ours"
            + (f" ({len(d.raw_differs):,} of them by raw)" if d.raw_differs else "")
            for t, d in differences.items()
        )
        print(f"  native tables equal the sync's: NO ({detail})")
        for table, difference in differences.items():
            show_differences(work / "native.duckdb", work / "fast.duckdb", table, difference)
    else:
        print("  native tables equal the sync's: yes (4 tables, every column; raw as JSON; _synced_at aside)")
    print(
        f"  peak RSS of the sync: {fast.peak_rss_mb:.0f} MB at concurrency {concurrency}, "
        f"{slow.peak_rss_mb:.0f} MB at concurrency 1 (target < 500 MB at ~250k line items)"
    )
    return not differences, fast


def growth(args: argparse.Namespace, page_size: int, base: SyncRun, work: Path) -> None:
    """Peak RSS of concurrency-8 syncs of about 250k and 1M line items (orders per day scaled by
    the base run's line items per order, same days), each against its own emulator."""
    lines_per_order = base.line_items / base.orders
    runs: list[SyncRun] = []
    for target in (int(size) for size in args.growth_line_items.split(",")):
        per_day = math.ceil(target / lines_per_order / args.days)
        with emulator(TOKEN, args.days, per_day, "--latency-ms", str(args.latency_ms)) as base_url:
            runs.append(sync(base_url, work / f"growth-{target}.duckdb", args.concurrency, page_size))
    small, big = runs[0], runs[-1]
    change = big.peak_rss_mb / small.peak_rss_mb - 1
    print(f"growth (page size {page_size}, concurrency {args.concurrency}):")
    for run in runs:
        print(
            f"  {run.orders:,} orders, {run.line_items:,} line items: peak RSS {run.peak_rss_mb:.0f} MB, "
            f"{run.cpu_s:.1f} CPU-s, extraction {run.extraction_s:.1f} s"
        )
    print(
        f"  peak RSS at {big.line_items / small.line_items:.1f}x the line items: growth {change:+.0%} "
        f"(target < 25%; and < 500 MB at {small.line_items:,} line items)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=250_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--page-sizes",
        default="100,1000",
        help="comma-separated orders per page (Square allows up to 1000); smaller pages are more latency-bound",
    )
    parser.add_argument("--page-size", type=int, help="a single page size (instead of --page-sizes)")
    parser.add_argument(
        "--growth", action="store_true", help="also sync ~250k and ~1M line items and compare their peak RSS"
    )
    parser.add_argument(
        "--growth-line-items",
        default="250000,1000000",
        help="the line-item counts --growth syncs (the issue's: < 500 MB at the first, < 25%% more at the last)",
    )
    args = parser.parse_args()
    sizes = [args.page_size] if args.page_size else [int(size) for size in args.page_sizes.split(",")]
    per_day = max(1, args.orders // args.days)
    startup_s = startup_cpu_s()
    equal = True
    runs: dict[int, SyncRun] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        emulator(TOKEN, args.days, per_day, "--latency-ms", str(args.latency_ms)) as base_url,
    ):
        print(
            f"emulator: {args.days} days x {per_day:,} orders per day, {args.latency_ms} ms latency; "
            f"sync concurrency {args.concurrency}; {os.cpu_count()} CPUs"
        )
        for size in sizes:
            work = Path(tmp) / f"page-size-{size}"
            work.mkdir()
            same, fast = compare(base_url, work, size, args.concurrency, args.latency_ms, startup_s)
            equal = equal and same
            runs[size] = fast
            shutil.rmtree(work)
    if args.growth:
        with tempfile.TemporaryDirectory() as tmp:
            growth(args, max(sizes), runs[max(sizes)], Path(tmp))
    if not equal:
        sys.exit("the DuckDB-native tables differ from the sync's (see above)")


if __name__ == "__main__":
    main()
