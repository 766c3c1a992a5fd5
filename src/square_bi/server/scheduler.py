"""Keeping the data fresh from inside the server's event loop (APScheduler's AsyncIOScheduler).

One run at a time: in this process an asyncio lock, across processes the warehouse's sync lock
(a second server sharing the file skips its turn instead of failing). Misfires are coalesced; at
start, a run happens at once when the last successful sync is older than the interval.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from square_bi.config import Settings
from square_bi.errors import SquareBIError
from square_bi.extract.records import utc_now
from square_bi.warehouse.snapshot import SyncAlreadyRunning, open_snapshot
from square_bi.warehouse.sync import sync_warehouse

log = logging.getLogger(__name__)


@dataclass
class SyncState:
    """What this process knows about its own syncs (the warehouse's sync_runs has the history)."""

    running: bool = False
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_outcome: str | None = None
    """``succeeded``, ``failed: ...``, or ``skipped: another process was syncing``."""
    failed_streams: dict[str, str] = field(default_factory=dict)


class SyncScheduler:
    def __init__(self, settings: Settings, db: Path, every: timedelta) -> None:
        self.settings = settings
        self.db = db
        self.every = every
        self.state = SyncState()
        self.lock = asyncio.Lock()
        """Held while this process syncs; webhook-triggered syncs take it too, so one runs at a time."""
        self._scheduler: AsyncIOScheduler | None = None
        self._tasks: set[asyncio.Task[SyncState]] = set()

    def start(self) -> None:
        """Schedule a sync every ``every``; the first at once if the data is older than that."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        first = utc_now() if self.data_is_stale() else utc_now() + self.every
        scheduler.add_job(
            self.run_once,
            "interval",
            seconds=self.every.total_seconds(),
            next_run_time=first.replace(tzinfo=UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(self.every.total_seconds()),
            id="sync",
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("syncing %s every %s (next at %s UTC)", self.db, self.every, first.isoformat(timespec="seconds"))

    async def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def trigger(self, streams: list[str] | None = None) -> bool:
        """Start a sync in the background now; False if this process is already syncing."""
        if self.state.running:
            return False
        task = asyncio.get_running_loop().create_task(self.run_once(streams))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def run_once(self, streams: list[str] | None = None) -> SyncState:
        if self.lock.locked():
            return self.state
        async with self.lock:
            self.state.running = True
            self.state.last_started_at = utc_now()
            try:
                result = await sync_warehouse(self.settings, self.db, streams=streams)
                self.state.failed_streams = dict(result.report.failed)
                self.state.last_outcome = (
                    "succeeded"
                    if result.report.ok
                    else "failed: " + "; ".join(f"{name}: {error}" for name, error in result.report.failed.items())
                )
            except SyncAlreadyRunning:
                self.state.last_outcome = "skipped: another process was syncing this warehouse"
            except SquareBIError as exc:
                self.state.last_outcome = f"failed: {exc}"
                log.error("scheduled sync failed: %s", exc)
            finally:
                self.state.running = False
                self.state.last_finished_at = utc_now()
            return self.state

    def data_is_stale(self) -> bool:
        try:
            con = open_snapshot(self.db)
        except SquareBIError:
            return True
        try:
            # Orders, the stream every sales metric reads: a webhook-triggered pass over payments or
            # the catalog also records succeeded runs, which must not make stale orders look fresh.
            row = con.execute(
                "SELECT max(finished_at) FROM sync_runs WHERE status = 'succeeded' AND stream = 'orders'"
            ).fetchone()
        finally:
            con.close()
        last = row[0] if row else None
        return last is None or utc_now() - last >= self.every
