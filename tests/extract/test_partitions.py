"""How a window stream's history is split into partitions for a concurrent backfill."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from square_bi.extract.partitions import Bucket, Partition, history_buckets, window_partitions
from square_bi.extract.state import PartitionState

RUN_END = datetime(2026, 11, 27, 12, 30)


def test_without_a_known_history_there_is_one_open_bucket() -> None:
    assert history_buckets(None, RUN_END) == [Bucket()]
    assert Partition("L1", Bucket()).key == "L1"


def test_a_first_sync_splits_the_last_26_weeks_into_one_partition_each() -> None:
    buckets = history_buckets(datetime(2024, 5, 31, 23, 0), RUN_END)

    assert buckets[0] == Bucket(None, datetime(2026, 6, 1))  # a Monday, 25 weeks before RUN_END's
    assert buckets[-1] == Bucket(datetime(2026, 11, 23), None)
    assert len(buckets) == 27
    assert all(b.end - b.start == timedelta(weeks=1) for b in buckets[1:-1])  # type: ignore[operator]
    assert Partition("L1,L2", buckets[1]).key == "L1,L2@2026-06-01"
    assert Partition("L1,L2", buckets[0]).key == "L1,L2@first"


def test_a_short_history_starts_its_weeks_after_its_first_week() -> None:
    buckets = history_buckets(datetime(2026, 10, 28, 9, 0), RUN_END)  # a Wednesday

    assert [b.start for b in buckets] == [
        None,
        datetime(2026, 11, 2),
        datetime(2026, 11, 9),
        datetime(2026, 11, 16),
        datetime(2026, 11, 23),
    ]


def test_later_syncs_keep_the_first_syncs_split() -> None:
    first = history_buckets(datetime(2024, 1, 1), RUN_END)
    later = history_buckets(datetime(2024, 1, 1), RUN_END + timedelta(days=60), split_at=first[0].end)

    assert later[0] == first[0]
    assert set(first[:-1]) <= set(later)
    assert len(later) == len(first) + 9  # the weeks since


@given(
    earliest=st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2026, 11, 27)),
    run_end=st.datetimes(min_value=datetime(2026, 11, 27), max_value=datetime(2027, 3, 1)),
    days_later=st.integers(min_value=0, max_value=400),
)
def test_buckets_cover_all_time_without_gaps_or_overlaps_and_edges_never_move(
    earliest: datetime, run_end: datetime, days_later: int
) -> None:
    buckets = history_buckets(earliest, run_end)

    assert buckets[0].start is None and buckets[-1].end is None
    for before, after in itertools.pairwise(buckets):
        assert before.end == after.start
    labels = [b.label for b in buckets]
    assert len(labels) == len(set(labels))
    # A later sync, given where this one split, keeps every closed bucket (their checkpoints stay valid).
    later = history_buckets(earliest, run_end + timedelta(days=days_later), split_at=buckets[0].end)
    assert set(buckets[:-1]) <= set(later)


def test_a_closed_week_splits_into_its_seven_days() -> None:
    week = Bucket(datetime(2026, 11, 16), datetime(2026, 11, 23))

    days = week.days(RUN_END)

    assert [(d.start, d.end) for d in days] == [
        (datetime(2026, 11, 16) + timedelta(days=i), datetime(2026, 11, 17) + timedelta(days=i)) for i in range(7)
    ]
    assert Partition("L1", days[2]).key == "L1@2026-11-18/day"
    assert Partition("L1", week).key == "L1@2026-11-16"  # a week keeps its own key


def test_the_open_week_splits_into_the_days_begun_the_last_one_open() -> None:
    days = Bucket(datetime(2026, 11, 23), None).days(RUN_END)  # RUN_END is a Friday

    assert [d.start for d in days] == [datetime(2026, 11, 23) + timedelta(days=i) for i in range(5)]
    assert days[-1].end is None
    assert all(d.day and not d.splittable for d in days)


def test_the_older_history_has_no_days() -> None:
    assert not Bucket(None, datetime(2026, 6, 1)).splittable


def _done(end: datetime) -> PartitionState:
    return PartitionState(watermark=end)


def test_a_first_sync_plans_weeks() -> None:
    parts = window_partitions("L1", datetime(2024, 1, 1), RUN_END, {})

    assert [p.bucket for p in parts] == history_buckets(datetime(2024, 1, 1), RUN_END)


def test_a_week_an_earlier_sync_read_as_days_is_read_as_those_days_again() -> None:
    first = history_buckets(datetime(2024, 1, 1), RUN_END)
    split_week = first[5]
    states = {f"L1@{b.label}": _done(b.end) for b in first[:-1] if b is not split_week}  # type: ignore[arg-type]
    # Only some of its days were read (a crash, say): the others are planned too, from their start.
    read_days = split_week.days(RUN_END)[:3]
    states |= {f"L1@{d.label}": _done(d.end) for d in read_days}  # type: ignore[arg-type]

    later = window_partitions("L1", datetime(2024, 1, 1), RUN_END + timedelta(days=1), states)

    keys = [p.key for p in later]
    assert f"L1@{split_week.label}" not in keys
    assert [p.bucket for p in later if p.bucket.day] == split_week.days(RUN_END)
    assert later[0].bucket == first[0]  # the split stays where it was
    # Other weeks, and other bases, stay weeks.
    assert f"L1@{first[6].label}" in keys
    assert all(not p.bucket.day for p in window_partitions("L2", datetime(2024, 1, 1), RUN_END, states))


def test_a_week_with_a_checkpoint_of_its_own_stays_a_week() -> None:
    week = history_buckets(datetime(2024, 1, 1), RUN_END)[3]
    states = {f"L1@{week.label}": PartitionState(cursor="c"), f"L1@{week.days(RUN_END)[0].label}": _done(RUN_END)}

    parts = window_partitions("L1", datetime(2024, 1, 1), RUN_END, states)

    assert Partition("L1", week) in parts
    assert not any(p.bucket.day for p in parts)


@given(
    earliest=st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2026, 11, 27)),
    run_end=st.datetimes(min_value=datetime(2026, 11, 27), max_value=datetime(2027, 3, 1)),
    days_later=st.integers(min_value=0, max_value=30),
    split=st.sets(st.integers(min_value=0, max_value=30)),
)
def test_weeks_read_as_days_still_cover_all_time_once_and_their_days_never_move(
    earliest: datetime, run_end: datetime, days_later: int, split: set[int]
) -> None:
    """A first sync reads some weeks (the open one too) as days; a later sync plans from its
    checkpoints: every instant is in exactly one partition, and every day the first one read is
    planned again with the same edges, or closed where it was open."""
    first = history_buckets(earliest, run_end)
    chosen = [b for i, b in enumerate(first) if i in split and b.splittable]
    first_days = [d for week in chosen for d in week.days(run_end)]
    # Each read to its end: its watermark is its window's end.
    states = {f"L1@{b.label}": _done(b.end or run_end) for b in first if b not in chosen}
    states |= {f"L1@{d.label}": _done(d.end or run_end) for d in first_days}

    later = window_partitions("L1", earliest, run_end + timedelta(days=days_later), states)

    buckets = [p.bucket for p in later]
    assert buckets[0].start is None and buckets[-1].end is None
    for before, after in itertools.pairwise(buckets):
        assert before.end == after.start
    assert len({p.key for p in later}) == len(later)
    planned = {(d.start, d.end) for d in buckets if d.day}
    for day in first_days:
        assert (day.start, day.end) in planned or (day.end is None and any(d.start == day.start for d in buckets))
