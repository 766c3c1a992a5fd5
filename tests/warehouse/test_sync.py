"""Syncing the demo merchant through the real SDK into a real DuckDB file."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from shop_support import DEMO_ANCHOR, DEMO_TOKEN, RawMerchant, demo_settings, extract, run_sync
from square_bi.extract.runner import SyncOptions
from square_bi.extract.state import Page, PartitionState
from square_bi.square.demo import DemoData, DemoServer
from square_bi.square.demo.faults import FaultConfig
from square_bi.warehouse.database import Warehouse
from square_bi.warehouse.sink import DuckDBSink, _Queued
from square_bi.warehouse.star import STAR_TABLES

STAGING = ("stg_locations", "stg_catalog_objects", "stg_orders", "stg_order_line_items")


def table_counts(db: Path, tables: tuple[str, ...] = STAGING) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]


def star_tables(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in STAR_TABLES}


def staged_orders(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT id, version FROM stg_orders").fetchall())


def test_a_full_sync_stages_every_order_and_line_item_the_api_serves_exactly_once(
    shop_db: Path, raw_shop: RawMerchant
) -> None:
    with duckdb.connect(str(shop_db), read_only=True) as con:
        order_ids = [r[0] for r in con.execute("SELECT id FROM stg_orders").fetchall()]
        line_keys = con.execute("SELECT order_id, uid FROM stg_order_line_items").fetchall()
    assert Counter(order_ids) == Counter(o["id"] for o in raw_shop.orders)
    expected_lines = [(o["id"], li["uid"]) for o in raw_shop.orders for li in o.get("line_items", [])]
    assert Counter(line_keys) == Counter(expected_lines)


def test_money_is_stored_as_integer_minor_units_and_quantity_as_decimal(shop_db: Path) -> None:
    with duckdb.connect(str(shop_db), read_only=True) as con:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'fct_order_line_item'"
            ).fetchall()
        )
    assert types["gross_sales_amount"] == "BIGINT"
    assert types["quantity"] == "DECIMAL(18,5)"


def test_a_second_sync_keeps_row_counts_and_asks_only_for_the_lookback_window(shop: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "twice.duckdb"
    first = run_sync(shop.base_url, db)
    counts_after_first = table_counts(db)
    second = run_sync(shop.base_url, db)

    assert table_counts(db) == counts_after_first
    lookback = demo_settings(shop.base_url).orders_lookback
    first_windows = first.report.streams["orders"].requested_windows
    second_windows = second.report.streams["orders"].requested_windows
    # The first sync reads every week of history (the first one open-ended), concurrently.
    assert [start for start, _ in first_windows].count(None) == 1
    assert len(first_windows) > 1
    # The second asks only the week still open, from the first sync's end minus the lookback.
    assert len(second_windows) == 1
    (second_start, second_end) = second_windows[0]
    assert second_start == first.report.started_at - lookback
    assert second_end == second.report.started_at
    # The demo's orders all closed before its anchor, days ago: nothing in the lookback window.
    assert second.report.streams["orders"].rows < first.report.streams["orders"].rows
    assert second.report.streams["catalog"].rows == 0


class CrashingSink(DuckDBSink):
    """Commits pages normally, then dies (like a killed process) as it is about to write the
    ``crash_at``-th page that leaves a partition in the middle (a page with a next cursor): nothing
    commits after that, not even the pages already queued."""

    def __init__(self, warehouse: Warehouse, crash_at: int) -> None:
        super().__init__(warehouse)
        self.crash_at = crash_at
        self.mid_partition_pages = 0
        self.dead = False

    def submit(self, page: Page, after: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        if self.dead:
            raise RuntimeError("simulated crash")
        return super().submit(page, after)

    async def _write(self, group: list[_Queued]) -> None:
        before_the_crash = []
        for queued in group:
            if not self.dead and queued.state.cursor is not None:
                self.mid_partition_pages += 1
                self.dead = self.mid_partition_pages >= self.crash_at
            if self.dead:
                queued.done.set_exception(RuntimeError("simulated crash"))
            else:
                before_the_crash.append(queued)
        if before_the_crash:
            await super()._write(before_the_crash)


class HoldingSink(DuckDBSink):
    """Holds back the commit of the first orders partition's last page until a page of another
    orders partition is submitted (or ten seconds pass)."""

    def __init__(self, warehouse: Warehouse) -> None:
        super().__init__(warehouse)
        self.held: str | None = None
        self.other_submitted = asyncio.Event()
        self.handed_over = False
        """Whether the other partition's page came while the last page was held."""

    def submit(self, page: Page, after: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        if page.stream == "orders" and self.held is not None and page.partition != self.held:
            self.other_submitted.set()
        return super().submit(page, after)

    async def _write(self, group: list[_Queued]) -> None:
        for queued in group:
            last_page = queued.stream == "orders" and queued.state.cursor is None and "@" in queued.partition
            if last_page and self.held is None:
                self.held = queued.partition
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.other_submitted.wait(), timeout=10)
                    self.handed_over = True
        await super()._write(group)


def orders_partitions(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT partition FROM sync_checkpoints WHERE stream = 'orders'").fetchall()]


class PoisoningSink(DuckDBSink):
    """Breaks one page mid-partition so the database refuses it (a line item without its key):
    the third page of the first orders partition to reach three pages, if more pages follow it.
    The writer holds that page back until the partition has submitted another one after it, so a
    later page is queued when it fails. Keeps each partition's states as submitted."""

    def __init__(self, warehouse: Warehouse) -> None:
        super().__init__(warehouse)
        self.staged: Counter[str] = Counter()
        self.states: dict[str, list[PartitionState]] = {}
        self.poisoned: str | None = None

    def stage(self, page: Page) -> Page:
        if page.stream == "orders" and page.staged is None:
            self.staged[page.partition] += 1
            if self.poisoned is None and self.staged[page.partition] == 3 and page.state.cursor is not None:
                self.poisoned = page.partition
                page.records[0]["line_items"][0]["uid"] = None
        return super().stage(page)

    def submit(self, page: Page, after: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        if page.stream == "orders":
            self.states.setdefault(page.partition, []).append(page.state)
        return super().submit(page, after)

    async def _write(self, group: list[_Queued]) -> None:
        if self.poisoned is not None and any(q.partition == self.poisoned for q in group):
            for _ in range(500):
                if len(self.states[self.poisoned]) > 3:
                    break
                await asyncio.sleep(0.01)
        await super()._write(group)


async def _sync_with_crash(base_url: str, db: Path, crash_at: int) -> None:
    options = SyncOptions(orders_page_size=50, max_concurrency=2)
    await extract(base_url, db, options, lambda warehouse: CrashingSink(warehouse, crash_at))


def test_a_page_the_database_refuses_fails_its_partition_and_no_later_page_of_it_commits(
    shop: DemoServer, shop_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "poisoned.duckdb"

    # 10-order pages: a partition may have up to 199 pages waiting for the writer.
    options = SyncOptions(orders_page_size=10, max_concurrency=2, streams=["locations", "orders"])
    sink, report = asyncio.run(extract(shop.base_url, db, options, PoisoningSink))

    assert isinstance(sink, PoisoningSink) and sink.poisoned is not None
    states = sink.states[sink.poisoned]
    assert len(states) > 3  # a later page was submitted before the refused one was written
    assert report.failed.keys() == {"orders"}
    assert "NOT NULL" in report.failed["orders"]
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute(
            "SELECT cursor, rows_total FROM sync_checkpoints WHERE stream = 'orders' AND partition = ?",
            [sink.poisoned],
        ).fetchall()
    assert stored == [(states[1].cursor, states[1].rows_total)]  # the page before the refused one

    resumed = run_sync(shop.base_url, db)

    assert resumed.report.ok
    assert staged_orders(db) == staged_orders(shop_db)
    assert table_counts(db) == table_counts(shop_db)


@pytest.mark.parametrize("crash_at", [3, 7, 12])
def test_a_sync_that_dies_mid_stream_resumes_to_the_same_result_without_duplicates(
    shop: DemoServer, shop_db: Path, tmp_path: Path, crash_at: int
) -> None:
    db = tmp_path / "crashy.duckdb"
    asyncio.run(_sync_with_crash(shop.base_url, db, crash_at))
    partial = table_counts(db)
    assert partial["stg_orders"] < table_counts(shop_db)["stg_orders"]

    resumed = run_sync(shop.base_url, db)

    assert resumed.report.ok
    assert staged_orders(db) == staged_orders(shop_db)
    assert table_counts(db) == table_counts(shop_db)
    # The star schema rebuilt after this interrupted-then-incremental history equals the one built
    # from a single full sync.
    assert star_tables(db) == star_tables(shop_db)


def test_watermarks_only_move_once_every_page_of_a_partition_is_committed(shop: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "watermark.duckdb"
    asyncio.run(_sync_with_crash(shop.base_url, db, crash_at=5))
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT watermark, cursor FROM sync_checkpoints WHERE stream = 'orders'").fetchall()
    assert rows, "the first pages of orders should have committed with their checkpoint"
    # A partition is either finished (watermark, no cursor) or in the middle (cursor, no watermark).
    assert all((watermark is None) == (cursor is not None) for watermark, cursor in rows)
    assert any(cursor is not None for _, cursor in rows), "the crash interrupted a partition mid-way"


def test_sync_run_statistics_are_recorded_per_stream(shop_db: Path) -> None:
    with duckdb.connect(str(shop_db), read_only=True) as con:
        runs = con.execute("SELECT stream, status, rows, pages FROM sync_runs ORDER BY stream").fetchall()
    assert [r[0] for r in runs] == sorted(
        ["catalog", "customers", "locations", "orders", "payments", "refunds", "team_members"]
    )
    assert all(status == "succeeded" and rows > 0 and pages >= 1 for _, status, rows, pages in runs)


def test_staged_orders_keep_squares_json_whole_including_fields_we_do_not_model(
    shop_db: Path, raw_shop: RawMerchant
) -> None:
    with duckdb.connect(str(shop_db), read_only=True) as con:
        stored = {
            order_id: json.loads(raw) for order_id, raw in con.execute("SELECT id, raw FROM stg_orders").fetchall()
        }
    assert stored == {order["id"]: order for order in raw_shop.orders}


@pytest.mark.parametrize(
    ("table", "source"),
    [
        ("stg_payments", "payments"),
        ("stg_refunds", "refunds"),
        ("stg_customers", "customers"),
        ("stg_team_members", "team_members"),
    ],
)
def test_payments_refunds_customers_and_team_members_land_exactly_once(
    shop_db: Path, shop_data: DemoData, table: str, source: str
) -> None:
    with duckdb.connect(str(shop_db), read_only=True) as con:
        staged = [json.loads(raw) for (raw,) in con.execute(f"SELECT raw FROM {table}").fetchall()]
    served = getattr(shop_data, source)
    assert served, f"the demo merchant serves {source}"
    assert Counter(obj["id"] for obj in staged) == Counter(obj["id"] for obj in served)
    assert {obj["id"]: obj for obj in staged} == {obj["id"]: obj for obj in served}


def test_a_stream_without_its_permission_fails_alone_naming_the_permission(shop_data: DemoData, tmp_path: Path) -> None:
    forbidden = FaultConfig(forbidden_endpoints=frozenset({"GET /v2/payments"}))
    with DemoServer(shop_data, access_token=DEMO_TOKEN, faults=forbidden) as square:
        result = run_sync(square.base_url, tmp_path / "scoped.duckdb")
    assert set(result.report.failed) == {"payments"}
    assert "PAYMENTS_READ" in result.report.failed["payments"]
    assert result.report.streams["orders"].rows == len(shop_data.orders)


def test_a_partition_waiting_for_its_last_commit_lets_the_next_partition_fetch(
    shop: DemoServer, tmp_path: Path
) -> None:
    # One partition fetches at a time: the next can only start once the held one gave up its slot.
    options = SyncOptions(max_concurrency=1, streams=["locations", "orders"])
    sink, report = asyncio.run(extract(shop.base_url, tmp_path / "handover.duckdb", options, HoldingSink))

    assert report.ok
    assert isinstance(sink, HoldingSink) and sink.held is not None
    assert sink.handed_over, "the next partition fetched only after the last commit of the one before"


def test_a_dense_backfill_reads_its_last_weeks_as_days_and_each_order_lands_once(
    shop: DemoServer, raw_shop: RawMerchant, tmp_path: Path
) -> None:
    db = tmp_path / "days.duckdb"
    # The shop's orders fill the 14 days before its anchor; a sync three days before the anchor
    # ends its backfill on two dense weeks, in 10-order pages, one partition at a time.
    run_end = DEMO_ANCHOR.replace(tzinfo=None) - timedelta(days=3)
    options = SyncOptions(orders_page_size=10, max_concurrency=1, streams=["locations", "orders"])

    _, first = asyncio.run(extract(shop.base_url, db, options, clock=lambda: run_end))

    assert first.ok
    days = [p for p in orders_partitions(db) if p.endswith("/day")]
    assert days, "no week was read as days"
    assert first.streams["orders"].partitions == len(orders_partitions(db))
    updated_before_the_end = [
        o for o in raw_shop.orders if datetime.fromisoformat(o["updated_at"]) < DEMO_ANCHOR - timedelta(days=3)
    ]
    assert staged_orders(db) == {o["id"]: o["version"] for o in updated_before_the_end}

    second = run_sync(shop.base_url, db)

    assert second.report.ok
    assert staged_orders(db) == {o["id"]: o["version"] for o in raw_shop.orders}
    assert set(days) <= set(orders_partitions(db))
    # Days and weeks read to their end are not read again: only what is open, from the lookback.
    lookback = demo_settings(shop.base_url).orders_lookback
    windows = second.report.streams["orders"].requested_windows
    assert windows and all(start is not None and start >= run_end - lookback for start, _ in windows)


def test_a_sparse_backfill_reads_whole_weeks(shop: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "weeks.duckdb"
    # 500-order pages: a week is a page or two, not worth a request per day, however the slots wait.
    options = SyncOptions(max_concurrency=1, streams=["locations", "orders"])
    _, report = asyncio.run(extract(shop.base_url, db, options))

    assert report.ok
    assert len(orders_partitions(db)) > 2
    assert not [p for p in orders_partitions(db) if p.endswith("/day")]
