"""One sync, wired end to end: Square client -> extractor -> DuckDB sink -> star schema."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from square_bi.config import Settings
from square_bi.extract.runner import Extractor, SyncOptions, SyncReport
from square_bi.extract.state import StreamStats
from square_bi.square.client import close_client, make_client
from square_bi.warehouse.database import Warehouse
from square_bi.warehouse.sink import DuckDBSink
from square_bi.warehouse.snapshot import publish_snapshot, sync_lock
from square_bi.warehouse.star import STAR_TABLES, build_star_schema, initialize

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    report: SyncReport
    star_counts: dict[str, int] = field(default_factory=dict)


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
    token = settings.access_token()
    base_url = settings.base_url()
    options = SyncOptions(
        full_refresh=full_refresh,
        lookback=settings.orders_lookback,
        orders_page_size=settings.orders_page_size,
        max_concurrency=settings.max_concurrency,
        max_attempts=settings.max_attempts,
        streams=streams,
    )
    with sync_lock(db_path):
        client = make_client(base_url, token, timeout_s=settings.request_timeout_s)
        warehouse = Warehouse(db_path).open()
        try:
            warehouse.run(initialize)
            try:
                report = await Extractor(
                    client, DuckDBSink(warehouse), base_url=base_url, options=options, on_progress=on_progress
                ).run()
            finally:
                # Whatever landed (even before a failure) is served: rebuild and publish.
                counts = await warehouse.arun(build_star_schema)
                await warehouse.arun(lambda con: publish_snapshot(con, db_path, STAR_TABLES))
            return SyncResult(report=report, star_counts=counts)
        finally:
            warehouse.close()
            await close_client(client)
