"""The compact sorted entries behind the orders, payments and refunds indexes order like sorted tuples."""

from __future__ import annotations

import random
from array import array

from square_bi.square.demo.listing import StampedEntries
from square_bi.square.demo.store import NO_TIME


def test_entries_sort_by_stamp_then_id_and_leave_out_absent_stamps() -> None:
    rng = random.Random(8)
    ids = [f"id-{rng.randrange(10**6):06d}-{row}" for row in range(2_000)]
    stamps = array("q", (rng.choice((NO_TIME, *range(40))) for _ in ids))  # many ties, some absent
    entries = StampedEntries(stamps, ids)
    expected = sorted((stamp, ids[row], row) for row, stamp in enumerate(stamps) if stamp != NO_TIME)
    assert [(stamp, ids[row], row) for stamp, row in zip(entries.stamps, entries.rows, strict=True)] == expected
    assert [entries.keys[index] for index in range(len(entries.keys))] == [(s, i) for s, i, _ in expected]


def test_a_changed_stamp_adds_an_entry_and_leaves_the_old_one_stale() -> None:
    ids = ["a", "b", "c"]
    entries = StampedEntries(array("q", [5, 5, NO_TIME]), ids)
    entries.set(0, (9, "a"))
    entries.set(2, (5, "c"))
    ids.append("d")
    entries.set(3, (1, "d"))  # a new row
    live = [entries.keys[index] for index in range(len(entries.keys)) if entries.live(index)]
    assert live == [(1, "d"), (5, "b"), (5, "c"), (9, "a")]
    assert [entries.keys[index] for index in range(len(entries.keys))] == [
        (1, "d"),
        (5, "a"),
        (5, "b"),
        (5, "c"),
        (9, "a"),
    ]
