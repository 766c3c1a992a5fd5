"""One sync, wired end to end: Square client -> extractor -> DuckDB sink -> star schema.

``sync_warehouse`` is the regular (incremental or full) sync; ``sync_targeted`` is what a batch of
webhook events triggers: the named orders fetched by id plus an incremental pass over a few
streams, under the same lock, then the same rebuild and publish.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from square import AsyncSquare

from square_bi.config import Settings
from square_bi.errors import SquareBIError
from square_bi.extract.records import utc_now
from square_bi.extract.runner import Extractor, SyncOptions, SyncReport
from square_bi.extract.state import StreamStats
from square_bi.extract.targeted import fetch_orders_by_id
from square_bi.square.client import close_client, make_client
from square_bi.warehouse.database import Warehouse, building_tables, transaction, writing_pages
from square_bi.warehouse.sink import DuckDBSink, write_records
from square_bi.warehouse.snapshot import publish_snapshot, sync_lock
from square_bi.warehouse.star import STAR_TABLES, build_star_schema, initialize

log = logging.getLogger(__name__)

STREAMS_DONE = "streams done; building the star schema"
"""Logged (INFO) when every stream of a sync is done, just before the star schema's build
(``bench/bench_backfill.py`` reads the sync's CPU as this line arrives)."""


@dataclass
class SyncResult:
    report: SyncReport
    star_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Session:
    """What one sync works with; ``star_counts`` is filled when the session ends."""

    client: AsyncSquare
    warehouse: Warehouse
    base_url: str
    star_counts: dict[str, int] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def _sync_session(settings: Settings, db_path: Path) -> AsyncIterator[_Session]:
    """Hold the warehouse's sync lock with a client and the writer open; at the end, whatever landed
    (even before a failure) is served: the star schema is rebuilt and the snapshot published.

    Raises ConfigError for a missing token and SyncAlreadyRunning when another process holds the lock.
    """
    token = settings.access_token()
    base_url = settings.base_url()
    with sync_lock(db_path):
        client = make_client(base_url, token, timeout_s=settings.request_timeout_s)
        warehouse = Warehouse(db_path).open()
        try:
            await warehouse.arun(initialize)
            await warehouse.arun(writing_pages)
            session = _Session(client, warehouse, base_url)
            try:
                yield session
            finally:
                log.info(STREAMS_DONE)
                await warehouse.arun(building_tables)
                session.star_counts = await warehouse.arun(build_star_schema)
                await warehouse.arun(lambda con: publish_snapshot(con, db_path, STAR_TABLES))
        finally:
            warehouse.close()
            await close_client(client)


def _options(settings: Settings, *, full_refresh: bool = False, streams: list[str] | None = None) -> SyncOptions:
    return SyncOptions(
        full_refresh=full_refresh,
        lookback=settings.orders_lookback,
        orders_page_size=settings.orders_page_size,
        max_concurrency=settings.max_concurrency,
        max_attempts=settings.max_attempts,
        streams=streams,
    )


async def sync_warehouse(
    settings: Settings,
    db_path: Path,
    *,
    full_refresh: bool = False,
    streams: list[str] | None = None,
    on_progress: Callable[[StreamStats], None] | None = None,
) -> SyncResult:
    """Incremental (or full) sync of every stream into ``db_path``, then rebuild the star schema.

    Raises ConfigError for a missing token and SyncAlreadyRunning when another process holds the
    warehouse's sync lock; a failing stream is reported in the result, never raised, and the star
    schema is still rebuilt and published from what did land.
    """
    options = _options(settings, full_refresh=full_refresh, streams=streams)
    async with _sync_session(settings, db_path) as session:
        sink = DuckDBSink(session.warehouse)
        report = await Extractor(
            session.client, sink, base_url=session.base_url, options=options, on_progress=on_progress
        ).run()
    return SyncResult(report=report, star_counts=session.star_counts)


@dataclass
class TargetedSyncResult:
    """What a targeted sync did: orders fetched by id, and the report of the streams it re-read."""

    orders_written: int = 0
    orders_missing: list[str] = field(default_factory=list)
    """Ids batch-retrieve did not return (unknown to Square, or of another merchant)."""
    orders_invalid: list[str] = field(default_factory=list)
    """Ids whose order failed validation: left to the regular sync, which dead-letters them."""
    orders_error: str | None = None
    report: SyncReport | None = None
    star_counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed_streams(self) -> dict[str, str]:
        failed = dict(self.report.failed) if self.report is not None else {}
        if self.orders_error is not None:
            failed["orders"] = self.orders_error
        return failed


async def sync_targeted(
    settings: Settings,
    db_path: Path,
    *,
    order_ids: Sequence[str] = (),
    streams: Sequence[str] = (),
) -> TargetedSyncResult:
    """Fetch exactly ``order_ids`` (batch-retrieve) and run the incremental sync of ``streams``, then
    rebuild the star schema and publish the snapshot.

    Orders fetched by id go through the same version-aware upsert as the orders stream but move no
    checkpoint: the regular incremental sync stays the source of truth for watermarks. Raises
    SyncAlreadyRunning when another process holds the sync lock (nothing is fetched then); a
    failing fetch is reported in the result, never raised.
    """
    result = TargetedSyncResult()
    async with _sync_session(settings, db_path) as session:
        if order_ids:
            try:
                fetched = await fetch_orders_by_id(
                    session.client, order_ids, base_url=session.base_url, max_attempts=settings.max_attempts
                )
            except SquareBIError as exc:
                result.orders_error = str(exc)
                log.error("fetching %d orders named by webhooks failed: %s", len(order_ids), exc)
            else:
                result.orders_missing = fetched.missing
                result.orders_invalid = [dead.record_id for dead in fetched.dead]
                if fetched.dead:
                    log.warning(
                        "%d order(s) named by webhooks failed validation; the regular sync will dead-letter them: %s",
                        len(fetched.dead),
                        ", ".join(result.orders_invalid[:5]),
                    )

                def write(con: duckdb.DuckDBPyConnection) -> int:
                    with transaction(con):
                        return write_records(con, "orders", fetched.records, fetched.raw, utc_now())

                result.orders_written = await session.warehouse.arun(write)
        if streams:
            options = _options(settings, streams=list(streams))
            result.report = await Extractor(
                session.client, DuckDBSink(session.warehouse), base_url=session.base_url, options=options
            ).run()
    result.star_counts = session.star_counts
    return result
