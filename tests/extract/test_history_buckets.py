"""How a window stream's history is split into partitions for a concurrent backfill."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from square_bi.extract.runner import Bucket, Partition, history_buckets

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
