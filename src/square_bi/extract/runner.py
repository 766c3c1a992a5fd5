"""The one extraction loop: for each stream and partition, read the checkpoint, build the query
from it, fetch pages (concurrently across partitions and streams), validate, and hand each page to
the sink, which commits rows and checkpoint together. The watermark moves only with the last page.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from square import AsyncSquare

from square_bi.errors import CursorExpiredError, FatalSourceError, RetriableSourceError, SourceError
from square_bi.extract.partitions import WEEK_DAYS, Bucket, Partition, window_partitions
from square_bi.extract.ratelimit import AdaptiveRateLimiter
from square_bi.extract.records import naive_utc, utc_now
from square_bi.extract.sink import Sink
from square_bi.extract.state import Page, PartitionState, StreamStats
from square_bi.extract.streams import (
    DEFAULT_STREAMS,
    LOCATIONS,
    STREAMS,
    PageRequest,
    RawPage,
    Stream,
    location_partitions,
)
from square_bi.extract.validation import validate_objects
from square_bi.square.client import start_request, translate_error

log = logging.getLogger(__name__)

MAX_CURSOR_RESTARTS = 10

PREFETCH_TURNS = 20
"""How many turns of the event loop a partition gives the request for its next page to reach the
socket (``client.start_request``) before validating and staging the page it has. About five
are needed with httpx's connection pool (anyio's checkpoints on the way); a request still waiting
for one of the ``max_concurrency`` slots, or for the rate limiter, is not waited for beyond them.

Only a partition whose ``COMMIT_AHEAD_ROWS`` hold three pages asks ahead, so pages on their way
take the place of pages waiting for the writer and memory stays where it was: with 1,000-order
pages, asking ahead as well raised the peak RSS of a 541k-order backfill from 467 to 487 MB, for
an extraction no faster (13.9 instead of 14.2 s at 256k orders, within the machine's drift)."""

COMMIT_AHEAD_ROWS = 2_000
"""How many rows a partition may hold at once: the pages that wait for the writer (always at least
one) plus the one it stages, and the next page on its way (``PREFETCH_TURNS``) if the allowance
holds three pages or more. Fetching on instead of waiting for each commit lets the
writer take bigger groups (``warehouse.sink``): 141k orders in 100-order pages took 19 instead of
28 s with 1,000 rows, and 17.9-18.3 instead of 19.2-20.2 s with 2,000 (19 pages waiting: each group
costs the writer some 40 ms of statements and a commit whatever its size, and a partition that has
to wait for a commit stops fetching). With 1,000-order pages one page waits, as before. Memory stays
bounded: at most 2 x ``max_concurrency`` x (this, or two pages if more) rows are in flight, half of
them in partitions that fetched their last page and wait for its commit (``Extractor``)."""

SYNC_GC_THRESHOLDS = (50_000, 20, 1_000_000)
"""CPython's cyclic collector as a sync runs it: a young pass every 50,000 allocations instead of 700,
and (practically) no full pass until the sync ends.

A backfill allocates millions of short-lived containers (Square's JSON as dicts, validated models,
rows) and holds several pages of them in flight. With the default thresholds the collector walked
all of them again and again: on a 5,000-order page, decoding took 0.7 s instead of 0.1 s and
validation 1.5 s instead of 0.2 s. Pages are acyclic, so reference counting frees each one as soon
as its commit is done whatever the collector does; what it still catches (the odd cycle from
asyncio or httpx internals) waits for the young passes or the end of the sync. Such a cycle must
not hold a page: each httpx response did, with its body, until ``client.request_json`` broke it."""

SYNC_SWITCH_INTERVAL_S = 0.0005
"""How long CPython lets a thread keep the GIL while another waits for it, as a sync runs (its
default is 5 ms).

The writer thread (``warehouse.sink``) hands each statement to DuckDB, which releases the GIL
while it works, and needs the GIL back for the next one: a group of pages is some twenty such
round trips. Meanwhile the event loop's thread decodes and validates pages, and keeps the GIL
until it is asked to give it up, so each round trip waited up to the whole interval. With
100-order pages the writer was busy for 20 s of a 22 s extraction (141k orders), half of it
waiting; at 0.5 ms the extraction took 19.2-19.6 s. The waits also cost the writer CPU: a loop
of upserts beside a busy Python thread used 6.9 CPU-s at 5 ms, 4.9 at 0.5 ms and 3.8-4.2 alone."""

_settings_lock = threading.Lock()
_settings_depth = 0
_saved_gc_thresholds: tuple[int, int, int] = (700, 10, 10)
_saved_switch_interval = 0.005


@contextmanager
def sync_interpreter_settings() -> Iterator[None]:
    """Run the body with :data:`SYNC_GC_THRESHOLDS` and :data:`SYNC_SWITCH_INTERVAL_S`, then restore
    the process's own settings (the outermost of overlapping syncs restores them) and collect once."""
    global _settings_depth, _saved_gc_thresholds, _saved_switch_interval
    with _settings_lock:
        if _settings_depth == 0:
            _saved_gc_thresholds = gc.get_threshold()  # type: ignore[assignment]
            _saved_switch_interval = sys.getswitchinterval()
            gc.set_threshold(*SYNC_GC_THRESHOLDS)
            sys.setswitchinterval(SYNC_SWITCH_INTERVAL_S)
        _settings_depth += 1
    try:
        yield
    finally:
        with _settings_lock:
            _settings_depth -= 1
            if _settings_depth == 0:
                gc.set_threshold(*_saved_gc_thresholds)
                sys.setswitchinterval(_saved_switch_interval)
                gc.collect()


def _extreme(pick: Callable[[list[datetime]], datetime], times: Iterable[datetime | None]) -> datetime | None:
    """``pick`` (min or max) of the ``times`` given, as naive UTC; None if there are none."""
    present = [t for t in times if t is not None]
    if not present:
        return None
    try:
        return naive_utc(pick(present))  # Square's timestamps all carry an offset: compare as they are
    except TypeError:  # some naive, some aware: normalise each first
        return pick([naive_utc(t) for t in present])


@dataclass(frozen=True)
class SyncOptions:
    full_refresh: bool = False
    lookback: timedelta = timedelta(hours=72)
    """Orders are re-read from ``watermark - lookback`` to catch late (offline) orders."""
    orders_page_size: int = 500
    max_concurrency: int = 8
    max_attempts: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    cursor_max_age: timedelta = timedelta(minutes=5)
    """A stored cursor older than this is not trusted (Square's live ~15 min); restart from the watermark."""
    streams: Sequence[str] | None = None
    """Only these streams (default: all)."""


DAY_SPLIT_MIN_PAGES = 7
"""At the end of a backfill, a week not started yet is read as days (see ``Extractor``) once a
partition of its stream has taken this many pages (a page a day): a sparse history is not worth a
request per day."""


class _Slot:
    """One slot of a semaphore, taken by :meth:`take` and given back by :meth:`release`, early or
    at the end (again is a no-op)."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore: asyncio.Semaphore | None = semaphore

    @classmethod
    async def take(cls, semaphore: asyncio.Semaphore) -> _Slot:
        await semaphore.acquire()
        return cls(semaphore)

    def release(self) -> None:
        if self._semaphore is not None:
            self._semaphore.release()
            self._semaphore = None


@dataclass
class SyncReport:
    run_id: str
    started_at: datetime
    streams: dict[str, StreamStats] = field(default_factory=dict)

    @property
    def failed(self) -> dict[str, str]:
        return {name: s.error for name, s in self.streams.items() if s.error}

    @property
    def ok(self) -> bool:
        return not self.failed


class Extractor:
    def __init__(
        self,
        client: AsyncSquare,
        sink: Sink,
        *,
        base_url: str,
        options: SyncOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
        on_progress: Callable[[StreamStats], None] | None = None,
    ) -> None:
        self.on_progress = on_progress
        """Called after each page with its stream's running totals (progress bars, logs)."""
        self.client = client
        self.sink = sink
        self.base_url = base_url
        self.options = options or SyncOptions()
        self.clock = clock
        self._slots = asyncio.Semaphore(self.options.max_concurrency)
        self._active_partitions = asyncio.Semaphore(self.options.max_concurrency)
        """Partitions fetch to their end a few at a time, so a started partition's cursor never waits
        behind dozens of others for its next page (Square's cursors expire)."""
        self._finishing_partitions = asyncio.Semaphore(self.options.max_concurrency)
        """Partitions that fetched their last page and wait for their pages to commit, at most as many
        as fetch: pages waiting for the writer stay within twice ``max_concurrency`` partitions'
        (``COMMIT_AHEAD_ROWS`` each), and a fetching slot does not idle through a partition's last
        commits."""
        self._waiting_days = 0
        """The history that partitions waiting for a slot read, in days (``Partition.days_of_work``)."""
        self._densest: dict[str, int] = {}
        """Per stream, the most pages a partition of it has taken in this run."""
        self.limiter = AdaptiveRateLimiter()

    async def run(self) -> SyncReport:
        """One sync of every selected stream. Never raises for a stream's failure: the report has it."""
        with sync_interpreter_settings():
            return await self._run()

    async def _run(self) -> SyncReport:
        report = SyncReport(run_id=uuid.uuid4().hex[:12], started_at=self.clock())
        wanted = list(self.options.streams or DEFAULT_STREAMS)
        unknown = [s for s in wanted if s not in STREAMS]
        if unknown:
            raise SourceError(f"Unknown stream(s) {unknown}. Streams: {sorted(STREAMS)}.")
        run_end = report.started_at
        # Locations first: they partition the orders.
        location_ids = await self._run_stream(
            LOCATIONS, report, run_end, partitions=[Partition("")], states=await self._states(LOCATIONS)
        )
        locations_error = report.streams[LOCATIONS.name].error
        if locations_error:
            # Nothing else can be read without locations (and whatever broke them, a bad token or an
            # unreachable host, breaks every stream): stop with that one error.
            await self.sink.record_run(report.run_id, report.started_at, report.streams[LOCATIONS.name])
            raise SourceError(locations_error)
        rest = [STREAMS[name] for name in wanted if name != LOCATIONS.name]
        earliest = report.streams[LOCATIONS.name].earliest_created_at
        tasks = []
        for stream in rest:
            if stream.partitioning != "none" and not location_ids:
                stats = report.streams.setdefault(stream.name, StreamStats(stream.name))
                stats.error = f"{stream.name}: skipped because the locations stream found no locations."
                continue
            if stream.partitioning == "location_batches":
                bases = location_partitions(location_ids)
            elif stream.partitioning == "per_location":
                bases = sorted(set(location_ids))
            else:
                bases = [""]
            states = await self._states(stream)
            if stream.incremental == "window":
                parts = [part for base in bases for part in window_partitions(base, earliest, run_end, states)]
            else:
                parts = [Partition(base) for base in bases]
            tasks.append(self._run_stream(stream, report, run_end, partitions=parts, states=states))
        await asyncio.gather(*tasks)
        for stats in report.streams.values():
            await self.sink.record_run(report.run_id, report.started_at, stats)
        return report

    async def _states(self, stream: Stream) -> dict[str, PartitionState]:
        """The stream's stored checkpoints by partition key, read once before its partitions run
        (each partition alone writes its own); none for a full refresh."""
        return {} if self.options.full_refresh else await self.sink.get_states(stream.name)

    async def _run_stream(
        self,
        stream: Stream,
        report: SyncReport,
        run_end: datetime,
        *,
        partitions: list[Partition],
        states: Mapping[str, PartitionState],
    ) -> list[str]:
        stats = report.streams.setdefault(stream.name, StreamStats(stream.name, partitions=len(partitions)))
        started = time.perf_counter()
        ids: list[str] = []
        errors: list[Exception] = []

        async def run_one(part: Partition) -> None:
            self._waiting_days += part.days_of_work
            try:
                fetching = await _Slot.take(self._active_partitions)
            finally:
                self._waiting_days -= part.days_of_work
            try:
                stored = states.get(part.key)
                days = self._tail_days(stream, part, stored, run_end)
                if not days:
                    ids.extend(await self._run_partition(stream, part, stored, run_end, stats, fetching))
                    return
            except Exception as exc:
                errors.append(exc)
                return
            finally:
                fetching.release()
            # Its slot went to the next partition waiting; its days queue behind those waiting.
            log.info("%s[%s]: read as %d days, to share the last of the backfill", stream.name, part.key, len(days))
            stats.partitions += len(days) - 1
            await asyncio.gather(*(run_one(day) for day in days))

        await asyncio.gather(*(run_one(p) for p in partitions))
        for error in errors:
            if not isinstance(error, SourceError):
                log.exception("stream %s failed unexpectedly", stream.name, exc_info=error)
                error = SourceError(f"{stream.name}: {type(error).__name__}: {error}")
            stats.error = str(error) if stats.error is None else f"{stats.error}; {error}"
            log.error("stream %s failed: %s", stream.name, error)
        stats.seconds += time.perf_counter() - started
        rate = stats.rows / stats.seconds if stats.seconds else 0.0
        log.info(
            "%s: %d rows in %d pages (%.0f rows/s), %d retries, %d dead letters%s",
            stream.name,
            stats.rows,
            stats.pages,
            rate,
            stats.retries,
            stats.dead_letters,
            f", failed: {stats.error}" if stats.error else "",
        )
        return ids

    def _tail_days(
        self, stream: Stream, part: Partition, stored: PartitionState | None, run_end: datetime
    ) -> list[Partition]:
        """The days to read ``part`` as instead, or [] to read it whole.

        Partitions run ``max_concurrency`` at a time, so a backfill ends with its last few weeks
        running alone while the other slots idle: 27 weeks on 8 slots left fewer than 8 running for
        4.1-4.5 s of a 17-19 s extraction (141k orders, 100-order pages). A week not started yet is
        therefore read as days once fewer than a round of slots' work waits (counted in days), if
        its stream is dense enough to fill them (``DAY_SPLIT_MIN_PAGES``); the days keep their own
        checkpoints, which later syncs find (``window_partitions``)."""
        if not part.bucket.splittable or stored is not None:
            return []
        if self._waiting_days >= WEEK_DAYS * self.options.max_concurrency:
            return []
        if self._densest.get(stream.name, 0) < DAY_SPLIT_MIN_PAGES:
            return []
        return [Partition(part.base, day) for day in part.bucket.days(run_end)]

    async def _run_partition(
        self,
        stream: Stream,
        part: Partition,
        stored: PartitionState | None,
        run_end: datetime,
        stats: StreamStats,
        fetching: _Slot,
    ) -> list[str]:
        """Read one partition from its checkpoint (``stored``) to its end. ``fetching`` is its slot
        among the partitions that fetch, given back once its last page is submitted."""
        opts = self.options
        partition = part.key
        state = stored or PartitionState()
        if part.bucket.end is not None and state.watermark is not None and state.watermark >= part.bucket.end:
            return []  # a past week (or day) already read to its end: later changes fall in later ones
        limit = opts.orders_page_size if stream.name == "orders" else stream.page_size
        cursor, window_start, window_end = self._start_window(stream, state, run_end, part.bucket)
        stats.requested_windows.append((window_start, window_end))
        ids: list[str] = []
        seen_cursors: set[str] = set()
        committing: deque[asyncio.Future[None]] = deque()
        """The partition's pages submitted to the sink and not yet known to be committed, oldest first."""
        # Pages of this size the partition may hold (COMMIT_AHEAD_ROWS): the one it stages, those
        # that wait for the writer (at least one), and the next one on its way if that still fits.
        held = COMMIT_AHEAD_ROWS // limit if limit else 0
        asks_ahead = held >= 3
        ahead = max(1, held - (2 if asks_ahead else 1))
        max_updated: datetime | None = None
        restarts = 0
        pages = 0
        prefetch: asyncio.Task[RawPage] | None = None
        """The request for the next page, sent as soon as a page's cursor is known (see below)."""
        try:
            while True:
                try:
                    if prefetch is None:
                        raw = await self._fetch(
                            stream, PageRequest(part.base, window_start, window_end, cursor, limit), stats
                        )
                    else:
                        asked, prefetch = prefetch, None
                        raw = await asked
                except CursorExpiredError:
                    stats.cursor_restarts += 1
                    restarts += 1
                    # Each restart keeps what was read (committed) and goes on; give up only after
                    # many in a row with no page read between them.
                    if cursor is None or restarts > MAX_CURSOR_RESTARTS:
                        raise
                    if stream.sorted_by_updated_at and max_updated is not None and window_end is not None:
                        # Everything up to max_updated is committed or committing: go on from there
                        # (inclusive, so ties at that instant are read again, idempotently).
                        log.warning("%s[%s]: cursor refused; resuming from %s", stream.name, partition, max_updated)
                        cursor, window_start = None, max_updated
                    else:
                        log.warning("%s[%s]: cursor refused; restarting from the watermark", stream.name, partition)
                        cursor, window_start, window_end = self._start_window(
                            stream, replace(state, cursor=None), run_end, part.bucket
                        )
                    continue
                restarts = 0
                if raw.cursor is not None:
                    if raw.cursor in seen_cursors:
                        raise FatalSourceError(
                            f"{stream.name}: Square returned the same cursor twice; stopping to avoid a loop."
                        )
                    seen_cursors.add(raw.cursor)
                    if asks_ahead:
                        # The next page is asked for now, so that validating and staging this one
                        # overlap its round trip. Asked for after them, each partition's requests
                        # were apart by a round trip plus its turn on the event loop's one thread,
                        # and the partitions kept fewer requests in flight than they could.
                        request = PageRequest(part.base, window_start, window_end, raw.cursor, limit)
                        prefetch, sent = start_request(self._fetch(stream, request, stats))
                        for _ in range(PREFETCH_TURNS):
                            if sent.is_set():
                                break
                            await asyncio.sleep(0)  # the new task runs up to its request's write
                valid, valid_raw, dead = validate_objects(stream.record, raw.objects, stream.primary_key)
                pages += 1
                stats.pages += 1
                stats.rows += len(valid)
                stats.dead_letters += len(dead)
                if self.on_progress is not None:
                    self.on_progress(stats)
                created = _extreme(min, (rec.get("created_at") for rec in valid))
                if created is not None:
                    stats.earliest_created_at = min(created, stats.earliest_created_at or created)
                updated = _extreme(max, (rec.get("updated_at") for rec in valid))
                if updated is not None:
                    max_updated = max(updated, max_updated or updated)
                if stream is LOCATIONS:  # only locations' ids are needed (they partition the others)
                    ids.extend(str(rec[stream.primary_key]) for rec in valid)
                if raw.cursor is not None:
                    new_state = replace(
                        state,
                        cursor=raw.cursor,
                        window_start=window_start,
                        window_end=window_end,
                        cursor_saved_at=self.clock(),
                        rows_total=state.rows_total + len(valid),
                    )
                else:
                    new_state = PartitionState(
                        watermark=self._final_watermark(stream, state, window_end, raw, max_updated),
                        rows_total=state.rows_total + len(valid),
                    )
                next_cursor = raw.cursor
                page = self.sink.stage(Page(stream.name, partition, valid, valid_raw, dead, new_state))
                # The staged page is all that is kept: no JSON dicts or models wait for the writer.
                del raw, valid, valid_raw, dead
                # A failed commit stops the partition at once; otherwise it waits only when too
                # many of its pages wait for the writer. (Should a page fail, the sink fails the
                # later ones too: a checkpoint never passes a failed page.)
                while committing and (len(committing) >= ahead or committing[0].done()):
                    await self._committed(committing.popleft())
                committing.append(self.sink.submit(page, after=committing[-1] if committing else None))
                if len(committing) >= ahead:  # the next page waits for the oldest: no use waiting for more
                    self.sink.commit_soon()
                del page
                state = new_state
                if next_cursor is None:
                    break
                cursor = next_cursor
            # Every page is submitted: the next partition fetches while these commit.
            self._densest[stream.name] = max(pages, self._densest.get(stream.name, 0))
            fetching.release()
            async with self._finishing_partitions:
                while committing:
                    await self._committed(committing.popleft())
        finally:
            if prefetch is not None:  # failed (or cancelled) with the next page asked for
                prefetch.cancel()
                await asyncio.gather(prefetch, return_exceptions=True)
            if committing:  # failed: let what was submitted settle, its errors seen
                self.sink.commit_soon()
                await asyncio.gather(*committing, return_exceptions=True)
        return ids

    async def _committed(self, page: asyncio.Future[None]) -> None:
        """Wait for a submitted page to commit, telling the sink not to wait for more pages first."""
        if not page.done():
            self.sink.commit_soon()
        await page

    def _start_window(
        self, stream: Stream, state: PartitionState, run_end: datetime, bucket: Bucket
    ) -> tuple[str | None, datetime | None, datetime | None]:
        """(cursor, window_start, window_end) for a fresh pass or a resume of a fresh cursor.

        A window stream reads from its watermark minus the lookback (which may reach back into the
        previous week: harmless, upserts are idempotent), or from its week's start on a first pass,
        up to the week's end or the run's start, whichever comes first."""
        if (
            state.cursor
            and state.cursor_saved_at is not None
            and run_end - state.cursor_saved_at <= self.options.cursor_max_age
        ):
            return state.cursor, state.window_start, state.window_end
        if stream.incremental == "full":
            return None, None, None
        if stream.incremental == "after_watermark":
            return None, state.watermark, None
        start = state.watermark - self.options.lookback if state.watermark else bucket.start
        end = min(bucket.end, run_end) if bucket.end is not None else run_end
        return None, start, end

    @staticmethod
    def _final_watermark(
        stream: Stream,
        state: PartitionState,
        window_end: datetime | None,
        raw: RawPage,
        max_updated: datetime | None,
    ) -> datetime | None:
        if stream.incremental == "window":
            return window_end
        if stream.incremental == "after_watermark":
            candidates = [t for t in (state.watermark, raw.latest_time, max_updated) if t is not None]
            return max(candidates) if candidates else None
        return window_end or utc_now()

    async def _fetch(self, stream: Stream, request: PageRequest, stats: StreamStats) -> RawPage:
        """One page, with exponential backoff and jitter on retriable failures."""
        opts = self.options
        attempt = 0
        while True:
            attempt += 1
            stats.requests += 1
            try:
                async with self._slots:
                    await self.limiter.acquire()
                    page = await stream.fetch(self.client, request)
                self.limiter.on_success()
                return page
            except Exception as exc:
                error = translate_error(exc, endpoint=stream.endpoint, base_url=self.base_url, scope=stream.scope)
                if isinstance(error, RetriableSourceError) and error.rate_limited:
                    self.limiter.on_rate_limited(error.retry_after_s)
                if not isinstance(error, RetriableSourceError) or attempt >= opts.max_attempts:
                    if isinstance(error, RetriableSourceError):
                        raise SourceError(f"{error} Gave up after {attempt} attempts.") from exc
                    raise error from exc
                if error.rate_limited:
                    stats.rate_limited += 1
                stats.retries += 1
                delay = min(opts.backoff_max_s, opts.backoff_base_s * 2 ** (attempt - 1))
                delay = random.uniform(delay / 2, delay)
                if error.retry_after_s is not None:
                    delay = max(delay, min(error.retry_after_s, opts.backoff_max_s))
                log.info("%s: %s; retry %d in %.2fs", stream.name, error, attempt, delay)
                await asyncio.sleep(delay)
