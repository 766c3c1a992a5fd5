"""How a stream's reads are split into partitions, each with a checkpoint of its own: by location
(the base) and, for window streams, by updated-time bucket: the older history, then weeks, and at
the end of a dense backfill, days."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from square_bi.extract.state import PartitionState

SPLIT_WEEKS = 26
"""How many recent weeks a first backfill splits into one partition each."""

OLDER = "first"
"""The label of the bucket holding everything before the weekly ones."""

WEEK_DAYS = 7
"""Days in a week bucket: how a partition's work is counted (``Partition.days_of_work``)."""

DAY = "day"
"""What a day bucket's label ends with (``2026-06-03/day``): a week's label is its start date alone."""


@dataclass(frozen=True)
class Bucket:
    """An updated-time range a window stream is split into so a backfill runs concurrently: a week
    (from a Monday 00:00 UTC, or from where an older sync split) or a day of one; the first is open
    at the start, the last at the end."""

    start: datetime | None = None
    end: datetime | None = None
    day: bool = False

    @property
    def label(self) -> str:
        if self.start is None:
            return OLDER
        return f"{self.start:%Y-%m-%d}/{DAY}" if self.day else f"{self.start:%Y-%m-%d}"

    @property
    def splittable(self) -> bool:
        """Whether this is a week that :meth:`days` can split."""
        return self.start is not None and not self.day

    def days(self, run_end: datetime) -> list[Bucket]:
        """This week as days, contiguous, from its start: up to its end, or, for the open week, one
        per day begun by ``run_end``, the last open. Edges never move as the week closes, so a day's
        checkpoint stays valid."""
        if self.start is None:
            raise ValueError("the older history has no days to split into")
        day = timedelta(days=1)
        edges = [self.start]
        if self.end is not None:
            while edges[-1] + day < self.end:
                edges.append(edges[-1] + day)
        else:
            while edges[-1] + day <= run_end:
                edges.append(edges[-1] + day)
        ends: list[datetime | None] = [*edges[1:], self.end]
        return [Bucket(start, end, day=True) for start, end in zip(edges, ends, strict=True)]


@dataclass(frozen=True)
class Partition:
    base: str
    """What the request is for: a batch of location ids, one location, or '' for all."""
    bucket: Bucket = Bucket()

    @property
    def key(self) -> str:
        """The checkpoint's partition key."""
        if self.bucket == Bucket():
            return self.base
        return f"{self.base}@{self.bucket.label}"

    @property
    def days_of_work(self) -> int:
        """Roughly how much history this partition reads, in days (a week, or a day once split);
        anything else counts as a week."""
        return 1 if self.bucket.day else WEEK_DAYS


def _week_start(value: datetime) -> datetime:
    """Monday 00:00 (UTC) of ``value``'s week."""
    return (value - timedelta(days=value.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def history_buckets(earliest: datetime | None, run_end: datetime, split_at: datetime | None = None) -> list[Bucket]:
    """A bucket for everything before ``split_at``, then one per week from ``split_at`` up to
    ``run_end`` (the last open at the end): contiguous and without overlaps.

    ``split_at`` is where the first sync split history, read back from that bucket's checkpoint,
    so the edges never move: a week read to its end is skipped by every later sync, and the older
    bucket is read once. A first sync splits at the Monday ``SPLIT_WEEKS`` weeks back (or after
    ``earliest``'s week, for a shorter history). A single open bucket when the history is unknown.

    Partitions run ``max_concurrency`` at a time, each paging through its own window, so a
    backfill needs many small ones to keep every slot busy: monthly buckets gave half a year of
    history 7 partitions for 8 slots, and the busiest month kept the sync waiting on its one."""
    if split_at is None:
        if earliest is None:
            return [Bucket()]
        split_at = max(
            _week_start(run_end) - timedelta(weeks=SPLIT_WEEKS - 1), _week_start(earliest) + timedelta(weeks=1)
        )
    if split_at > run_end:
        return [Bucket()]
    edges = [split_at]
    while edges[-1] + timedelta(weeks=1) <= run_end:
        edges.append(edges[-1] + timedelta(weeks=1))
    starts: list[datetime | None] = [None, *edges]
    ends: list[datetime | None] = [*edges, None]
    return [Bucket(start, end) for start, end in zip(starts, ends, strict=True)]


def split_at(base: str, states: Mapping[str, PartitionState]) -> datetime | None:
    """Where an earlier sync split ``base``'s history (see :func:`history_buckets`), from the older
    bucket's checkpoint: its window while it is read, its watermark once read to the end."""
    older = states.get(f"{base}@{OLDER}")
    if older is None:
        return None
    return older.window_end or older.watermark


def window_partitions(
    base: str, earliest: datetime | None, run_end: datetime, states: Mapping[str, PartitionState]
) -> list[Partition]:
    """A window stream's partitions for ``base``, given its stored checkpoints (``states``, by key;
    empty for a full refresh): the older history and a partition per week, except that a week an
    earlier sync read as days (see ``Extractor``) is read as those days again, so their
    checkpoints hold. A week with a checkpoint of its own stays a week."""
    parts = []
    for bucket in history_buckets(earliest, run_end, split_at(base, states)):
        week = Partition(base, bucket)
        if bucket.splittable and week.key not in states:
            days = [Partition(base, day) for day in bucket.days(run_end)]
            if any(day.key in states for day in days):
                parts += days
                continue
        parts.append(week)
    return parts
