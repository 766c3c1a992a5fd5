"""The DuckDB side of extraction: each page's rows, dead letters and checkpoint in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, cast

import duckdb
import orjson
import pyarrow as pa

from square_bi.errors import WarehouseError
from square_bi.extract import records as r
from square_bi.extract.records import utc_now
from square_bi.extract.state import Page, PartitionState, StreamStats
from square_bi.warehouse import rows, staging
from square_bi.warehouse.database import Warehouse, fetch_dicts, transaction
from square_bi.warehouse.load import PAGE_COLUMN, upsert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedPage:
    """One page's rows as Arrow tables, ready to upsert: each parent table with its child tables."""

    parents: tuple[tuple[staging.StagingTable, pa.Table, tuple[tuple[staging.StagingTable, pa.Table], ...]], ...]


def stage_records(stream: str, records: list[Any], raw: list[r.JsonObject], synced_at: datetime) -> StagedPage:
    """A stream's validated records and their JSON as Arrow tables (no database needed)."""
    if not records:
        return StagedPage(())
    if stream == "locations":
        return StagedPage(
            ((staging.LOCATIONS, rows.location_rows(cast(list[r.Location], records), raw, synced_at), ()),)
        )
    if stream == "catalog":
        catalog = rows.catalog_rows(cast(list[r.CatalogObject], records), raw, synced_at)
        return StagedPage(((staging.CATALOG_OBJECTS, catalog, ()),))
    if stream == "orders":
        orders, lines, returns, tenders = rows.order_rows(cast(list[r.Order], records), raw, synced_at)
        children = (
            (staging.ORDER_LINE_ITEMS, lines),
            (staging.ORDER_RETURN_LINE_ITEMS, returns),
            (staging.ORDER_TENDERS, tenders),
        )
        return StagedPage(((staging.ORDERS, orders, children),))
    simple: dict[str, tuple[staging.StagingTable, Callable[..., pa.Table]]] = {
        "payments": (staging.PAYMENTS, rows.payment_rows),
        "refunds": (staging.REFUNDS, rows.refund_rows),
        "customers": (staging.CUSTOMERS, rows.customer_rows),
        "team_members": (staging.TEAM_MEMBERS, rows.team_member_rows),
    }
    if stream in simple:
        table, build = simple[stream]
        return StagedPage(((table, build(records, raw, synced_at), ()),))
    raise ValueError(f"No staging table for stream {stream!r}")


@dataclass(frozen=True)
class _Staged:
    """A page as ``DuckDBSink.stage`` leaves it: when it was staged, its tables, its dead letters."""

    synced_at: datetime
    tables: StagedPage
    dead: list[tuple[str, str, str]]
    """(record id, error, raw JSON) of each record that failed validation."""
    rows: int
    """How many records the page had (valid or not)."""


def _with_page(tab: pa.Table, page: int) -> pa.Table:
    return tab.append_column(PAGE_COLUMN, pa.array([page] * tab.num_rows, type=pa.int32()))


def merge_staged(pages: list[StagedPage]) -> StagedPage:
    """Several staged pages as one, each row tagged with its page's position (``PAGE_COLUMN``), so
    one upsert writes them all and an object read twice keeps its newest version's children."""
    if len(pages) == 1:
        return pages[0]
    merged: dict[
        str, tuple[staging.StagingTable, list[pa.Table], dict[str, tuple[staging.StagingTable, list[pa.Table]]]]
    ] = {}
    for index, page in enumerate(pages):
        for table, tab, children in page.parents:
            _, parent_tabs, child_tabs = merged.setdefault(table.name, (table, [], {}))
            parent_tabs.append(_with_page(tab, index))
            for child, child_tab in children:
                child_tabs.setdefault(child.name, (child, []))[1].append(_with_page(child_tab, index))
    return StagedPage(
        tuple(
            (
                table,
                pa.concat_tables(parent_tabs),
                tuple((child, pa.concat_tables(tabs)) for child, tabs in child_tabs.values()),
            )
            for table, parent_tabs, child_tabs in merged.values()
        )
    )


def write_staged(con: duckdb.DuckDBPyConnection, staged: StagedPage) -> int:
    """Upsert a staged page (inside the caller's transaction); how many parent rows were accepted."""
    return sum(upsert(con, table, tab, children=children) for table, tab, children in staged.parents)


def write_records(
    con: duckdb.DuckDBPyConnection,
    stream: str,
    records: list[Any],
    raw: list[r.JsonObject],
    synced_at: datetime,
) -> int:
    """Upsert one stream's validated records and their JSON (inside the caller's transaction)."""
    return write_staged(con, stage_records(stream, records, raw, synced_at))


_CHECKPOINT_COLUMNS = "stream, partition, watermark, cursor, window_start, window_end, cursor_saved_at, rows_total"


def save_states(con: duckdb.DuckDBPyConnection, states: list[tuple[str, str, PartitionState]]) -> None:
    """Checkpoint each (stream, partition, state), the last one given of a partition winning, in ONE
    statement: an INSERT OR REPLACE costs about 2 ms whatever its row count (the table's key is
    checked), which one statement per page made the writer's largest cost after COMMIT with
    100-order pages."""
    latest = {(stream, partition): state for stream, partition, state in states}
    if not latest:
        return
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(latest))
    params: list[Any] = []
    for (stream, partition), state in latest.items():
        params += [
            stream,
            partition,
            state.watermark,
            state.cursor,
            state.window_start,
            state.window_end,
            state.cursor_saved_at,
            state.rows_total,
        ]
    con.execute(f"INSERT OR REPLACE INTO sync_checkpoints ({_CHECKPOINT_COLUMNS}) VALUES {values}", params)


def load_states(con: duckdb.DuckDBPyConnection, stream: str) -> dict[str, PartitionState]:
    """The committed state of each of ``stream``'s partitions, by partition key."""
    found = fetch_dicts(
        con,
        "SELECT partition, watermark, cursor, window_start, window_end, cursor_saved_at, rows_total "
        "FROM sync_checkpoints WHERE stream = ?",
        [stream],
    )
    return {row.pop("partition"): PartitionState(**row) for row in found}


GROUP_ROWS = 4_000
GROUP_LINGER_S = 0.03
GROUP_LINGER_MAX_S = 0.25
"""Before writing fewer than ``GROUP_ROWS`` queued rows, the writer waits ``GROUP_LINGER_S`` for
more, and on up to ``GROUP_LINGER_MAX_S`` unless a caller waits for one of the queued pages
(``commit_soon``).

Each group costs a dozen statements and a commit whatever its size, so small groups cost CPU: with
100-order pages, a fixed 30 ms wait cut the sync's CPU by a sixth against none (61k orders: 12.3
instead of 14.6 CPU-s). But the slower Square answers, the fewer pages a fixed wait collects. Waiting
on costs nothing as long as nobody needs the commit: a partition fetches on while up to
``COMMIT_AHEAD_ROWS`` of its rows wait (``extract.runner``), and says so once its next page would
have to wait. 141k orders at 50 ms latency, 100-order pages: 14.5-14.6 instead of 15.5-15.6 s and
18.5-18.7 instead of 20.8-21.0 user CPU-s; 1,000-order pages: 11.4-12.3 instead of 11.6-13.1 s; at
200 ms latency: 24.1 instead of 32.8 user CPU-s in the same 41 s. Counted in rows, not pages: forty
100-order pages are one group's worth, as are four 1,000-order pages."""


class CommitSkippedError(WarehouseError):
    """A page not written because an earlier page of its partition failed to commit: its checkpoint
    would have claimed the failed page's rows."""


@dataclass(frozen=True)
class _Queued:
    """A staged page waiting for the writer, with the future ``submit`` returned for it."""

    stream: str
    partition: str
    state: PartitionState
    staged: _Staged
    done: asyncio.Future[None]
    after: asyncio.Future[None] | None
    """The commit of the partition's previous page, if it was still queued when this one was."""

    @property
    def behind_a_failure(self) -> bool:
        """Whether the partition's previous page failed (or was given up): then this one must not
        commit, or its checkpoint would pass rows that are not there."""
        after = self.after
        return after is not None and after.done() and (after.cancelled() or after.exception() is not None)


def _settle(queued: _Queued, error: BaseException | None) -> None:
    if queued.done.done():  # its committer was cancelled
        return
    if error is None:
        queued.done.set_result(None)
    else:
        queued.done.set_exception(error)


def _write_group(con: duckdb.DuckDBPyConnection, group: list[_Queued]) -> None:
    """Every page of ``group``: rows, dead letters and checkpoint, in ONE transaction."""
    with transaction(con):
        write_staged(con, merge_staged([q.staged.tables for q in group]))
        for queued in group:
            now = queued.staged.synced_at
            for record_id, error, raw_json in queued.staged.dead:
                con.execute(
                    "INSERT INTO dead_letters (stream, record_id, error, raw_json, first_seen_at, last_seen_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (stream, record_id) DO UPDATE SET "
                    "error = excluded.error, raw_json = excluded.raw_json, last_seen_at = excluded.last_seen_at",
                    [queued.stream, record_id, error, raw_json, now, now],
                )
        save_states(con, [(queued.stream, queued.partition, queued.state) for queued in group])


class DuckDBSink:
    """Implements ``square_bi.extract.sink.Sink`` on the warehouse's writer thread."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._queue: list[_Queued] = []
        self._queued_rows = 0
        self._writer: asyncio.Task[None] | None = None
        self._write_now = asyncio.Event()
        """Set when the queue is a group's worth, or a caller waits for a queued page: the writer
        stops waiting for more pages."""

    async def get_states(self, stream: str) -> dict[str, PartitionState]:
        return await self.warehouse.arun(lambda con: load_states(con, stream))

    def stage(self, page: Page) -> Page:
        """The page with its Arrow tables built and its dead letters' JSON serialised (CPU work under
        the GIL wherever it runs, so here, in the caller's thread): its models and JSON dicts can go
        at once, and a page waiting for the writer holds a few MB of columns instead."""
        if page.staged is not None:
            return page
        synced_at = utc_now()
        staged = _Staged(
            synced_at,
            stage_records(page.stream, page.records, page.raw, synced_at),
            [(d.record_id, d.error, orjson.dumps(d.raw).decode()) for d in page.dead],
            len(page.records) + len(page.dead),
        )
        return replace(page, records=[], raw=[], dead=[], staged=staged)

    def submit(self, page: Page, after: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        """Queue the page for the writer; the future returned is settled once its transaction
        committed (or failed).

        ``after`` is the future of the partition's previous page when that one is still queued or
        being written: a partition goes on fetching while its pages wait, and if one of them fails,
        every later page of it fails too (``CommitSkippedError``) instead of committing a checkpoint
        past the missing rows. Pages are written in the order they were submitted.

        Group commit: pages that queue up while the writer is busy are written together, in ONE
        transaction with each page's checkpoint, so under load a few large upserts and commits
        replace many small ones (each commit of DuckDB has a fixed cost, and each upsert joins
        against the whole table). A page's rows and its checkpoint are never in different
        transactions. If a group fails, its pages are retried one transaction each, so a bad
        page fails alone (with the later pages of its partition), as it would have without
        grouping."""
        staged = self.stage(page).staged
        if not isinstance(staged, _Staged):
            raise TypeError(f"A page staged by another sink: {type(staged).__name__}")
        done = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(page.stream, page.partition, page.state, staged, done, after))
        self._queued_rows += staged.rows
        if self._queued_rows >= GROUP_ROWS:
            self._write_now.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return done

    def commit_soon(self) -> None:
        """A caller waits, or soon will, for a submitted page: write what is queued without waiting
        for more."""
        self._write_now.set()

    async def _drain(self) -> None:
        """Write what is queued, group after group, until the queue is empty."""
        group: list[_Queued] = []
        try:
            while self._queue:
                if self._queued_rows < GROUP_ROWS:
                    await asyncio.sleep(GROUP_LINGER_S)
                if not self._write_now.is_set():
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._write_now.wait(), GROUP_LINGER_MAX_S - GROUP_LINGER_S)
                self._write_now.clear()
                group, self._queue, self._queued_rows = self._queue, [], 0
                await self._write(group)
        except BaseException:  # cancelled: no committer may wait forever
            for queued in [*group, *self._queue]:
                if not queued.done.done():
                    queued.done.cancel()
            raise

    @staticmethod
    def _skip_behind_failures(group: list[_Queued]) -> list[_Queued]:
        """``group`` without the pages whose partition's previous page failed; those fail too, in
        order, so a failure reaches every later page of its partition in the group."""
        ready = []
        for queued in group:
            if queued.behind_a_failure:
                _settle(
                    queued,
                    CommitSkippedError(
                        f"{queued.stream}[{queued.partition}]: not written: an earlier page of it failed to commit."
                    ),
                )
            else:
                ready.append(queued)
        return ready

    async def _write(self, group: list[_Queued]) -> None:
        """One group in one transaction; if it fails, each of its pages in a transaction of its own.

        A page's previous page is either settled by now or earlier in this same group (pages are
        submitted, queued and written in order), so checking ``behind_a_failure`` just before a
        page is written is enough."""
        group = self._skip_behind_failures(group)
        if not group:
            return
        try:
            await self.warehouse.arun(partial(_write_group, group=group))
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0], exc)
                return
            log.warning("a group of %d pages failed to commit (%s); committing them one by one", len(group), exc)
            for queued in group:
                if not self._skip_behind_failures([queued]):
                    continue
                try:
                    await self.warehouse.arun(partial(_write_group, group=[queued]))
                except Exception as single:
                    _settle(queued, single)
                else:
                    _settle(queued, None)
        else:
            for queued in group:
                _settle(queued, None)

    async def record_run(self, run_id: str, started_at: datetime, stats: StreamStats) -> None:
        def write(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(
                "INSERT OR REPLACE INTO sync_runs (run_id, stream, started_at, finished_at, status, pages, rows, "
                "requests, retries, rate_limited, dead_letters, cursor_restarts, seconds, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    stats.stream,
                    started_at,
                    utc_now(),
                    "failed" if stats.error else "succeeded",
                    stats.pages,
                    stats.rows,
                    stats.requests,
                    stats.retries,
                    stats.rate_limited,
                    stats.dead_letters,
                    stats.cursor_restarts,
                    round(stats.seconds, 3),
                    stats.error,
                ],
            )

        await self.warehouse.arun(write)
