"""From pending webhook events to fresh data: debounced, targeted syncs, one at a time.

Events are cheap and come in bursts (a busy till, a bulk catalog import); a sync is not. So the
processor waits for a quiet moment (``quiet_s`` without a new event, at most ``max_wait_s`` after
the first), then handles *every* pending event in one targeted sync: the orders named by
``order.*`` events are fetched by id (batch-retrieve, 100 per call), the streams named by other
events (``payment.*`` -> payments, ...) get their regular incremental sync. A thousand events cost a
handful of syncs, and an order rung up at the till is served a second or two later.

Events are marked processed only after the sync that covers them has committed and published; a
sync that fails (or finds another process syncing) leaves them pending and is retried shortly, with
backoff. Syncs share one asyncio lock with the scheduler, so a process runs one sync at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from square_bi.config import Settings
from square_bi.errors import SquareBIError
from square_bi.server.webhooks_inbox import InboxEvent, WebhookInbox
from square_bi.warehouse.snapshot import SyncAlreadyRunning
from square_bi.warehouse.sync import TargetedSyncResult, sync_targeted

log = logging.getLogger(__name__)

ORDER_EVENT_TYPES = frozenset({"order.created", "order.updated", "order.fulfillment.updated"})
"""Events naming one order: fetched by id (``order.updated`` carries only id, version, state, location)."""

STREAM_BY_EVENT_PREFIX: tuple[tuple[str, str], ...] = (
    ("payment.", "payments"),
    ("refund.", "refunds"),
    ("customer.", "customers"),
    ("catalog.version.updated", "catalog"),
    ("team_member.", "team_members"),
    ("location.", "locations"),
)
"""Events answered by the regular incremental sync of one stream."""


@dataclass
class WorkPlan:
    """What one batch of events asks for."""

    order_ids: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    events_by_order: dict[str, list[str]] = field(default_factory=dict)
    events_by_stream: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    """Events of types we do not sync from (or order events without an id): processed as they are."""


def plan_work(events: Sequence[InboxEvent]) -> WorkPlan:
    """Group events: distinct order ids to fetch, distinct streams to re-read, the rest ignored."""
    plan = WorkPlan()
    for event in events:
        if event.event_type in ORDER_EVENT_TYPES and event.object_id:
            plan.events_by_order.setdefault(event.object_id, []).append(event.event_id)
            continue
        stream = next((s for prefix, s in STREAM_BY_EVENT_PREFIX if event.event_type.startswith(prefix)), None)
        if stream is None:
            plan.ignored.append(event.event_id)
        else:
            plan.events_by_stream.setdefault(stream, []).append(event.event_id)
    plan.order_ids = list(plan.events_by_order)
    plan.streams = list(plan.events_by_stream)
    return plan


@dataclass
class ProcessorStats:
    syncs: int = 0
    """Targeted syncs that ran (successful or not)."""
    events_processed: int = 0
    orders_fetched: int = 0
    busy_retries: int = 0
    """Times another process held the sync lock and the events waited."""
    failures: int = 0
    last_error: str | None = None


TargetedSync = Callable[[Sequence[str], Sequence[str]], Awaitable[TargetedSyncResult]]


class WebhookProcessor:
    """Runs in the server's event loop: ``start()``, ``notify()`` after each new event, ``stop()``."""

    def __init__(
        self,
        settings: Settings,
        db: Path,
        inbox: WebhookInbox,
        *,
        lock: asyncio.Lock | None = None,
        quiet_s: float = 0.4,
        max_wait_s: float = 2.0,
        busy_retry_s: float = 1.0,
        max_backoff_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.inbox = inbox
        self.lock = lock or asyncio.Lock()
        """Shared with the scheduler: one sync at a time in this process."""
        self.quiet_s = quiet_s
        self.max_wait_s = max_wait_s
        self.busy_retry_s = busy_retry_s
        self.max_backoff_s = max_backoff_s
        self.stats = ProcessorStats()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start processing; events left pending by an earlier run are handled at once."""
        self._wake.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-processor")

    def notify(self) -> None:
        """A new event is in the inbox."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            await self._debounce()
            try:
                done = await self.process_pending()
            except Exception as exc:  # the loop must outlive any one failure
                log.exception("processing webhook events failed")
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                done = False
            if done:
                failures = 0
                continue
            failures += 1
            delay = min(self.max_backoff_s, self.busy_retry_s * 2 ** min(failures - 1, 10))
            await asyncio.sleep(delay)
            self._wake.set()

    async def _debounce(self) -> None:
        """Return once no event arrived for ``quiet_s``, or ``max_wait_s`` after being woken."""
        give_up = time.monotonic() + self.max_wait_s
        while True:
            self._wake.clear()
            left = give_up - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(self.quiet_s, left))
            except TimeoutError:
                return

    async def process_pending(self) -> bool:
        """One targeted sync over every pending event. True when nothing is left to retry."""
        events = await self.inbox.pending()
        if not events:
            return True
        plan = plan_work(events)
        if plan.ignored:
            await self.inbox.mark_processed(plan.ignored)
            self.stats.events_processed += len(plan.ignored)
        if not plan.order_ids and not plan.streams:
            return True
        async with self.lock:
            try:
                result = await sync_targeted(self.settings, self.db, order_ids=plan.order_ids, streams=plan.streams)
            except SyncAlreadyRunning:
                self.stats.busy_retries += 1
                log.info("another process is syncing; %d webhook event(s) wait", len(events))
                return False
            except SquareBIError as exc:
                self.stats.syncs += 1
                self.stats.failures += 1
                self.stats.last_error = str(exc)
                log.error("targeted sync for %d webhook event(s) failed: %s", len(events), exc)
                return False
        self.stats.syncs += 1
        failed = result.failed_streams
        done: list[str] = []
        if "orders" not in failed:
            # Orders Square did not return, or that failed validation, are done here too: the regular
            # sync reads (and dead-letters) whatever exists.
            for event_ids in plan.events_by_order.values():
                done.extend(event_ids)
        self.stats.orders_fetched += result.orders_written
        for stream, event_ids in plan.events_by_stream.items():
            if stream not in failed and (stream == "locations" or "locations" not in failed):
                done.extend(event_ids)
        await self.inbox.mark_processed(done)
        self.stats.events_processed += len(done)
        if failed:
            self.stats.failures += 1
            self.stats.last_error = "; ".join(f"{name}: {error}" for name, error in failed.items())
            log.error("targeted sync left webhook events pending: %s", self.stats.last_error)
            return False
        log.info(
            "webhooks: %d event(s) processed (%d order(s) fetched by id, streams: %s)",
            len(done),
            result.orders_written,
            ", ".join(plan.streams) or "none",
        )
        return True
