"""A sync runs the cyclic garbage collector rarely, and gives the process its own settings back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from square_bi.extract.runner import SYNC_GC_THRESHOLDS, sync_gc_thresholds


@pytest.fixture
def own_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(701, 11, 12)
    yield (701, 11, 12)
    gc.set_threshold(*before)


def test_a_sync_raises_the_thresholds_and_restores_the_processs_own(own_thresholds: tuple[int, int, int]) -> None:
    with sync_gc_thresholds():
        assert gc.get_threshold() == SYNC_GC_THRESHOLDS
    assert gc.get_threshold() == own_thresholds


def test_overlapping_syncs_restore_the_thresholds_only_when_the_last_one_ends(
    own_thresholds: tuple[int, int, int],
) -> None:
    with sync_gc_thresholds():
        with sync_gc_thresholds():
            assert gc.get_threshold() == SYNC_GC_THRESHOLDS
        assert gc.get_threshold() == SYNC_GC_THRESHOLDS
    assert gc.get_threshold() == own_thresholds


def test_the_thresholds_come_back_when_a_sync_fails(own_thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(RuntimeError), sync_gc_thresholds():
        raise RuntimeError("a stream blew up")
    assert gc.get_threshold() == own_thresholds
