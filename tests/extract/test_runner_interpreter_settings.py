"""A sync runs the cyclic garbage collector rarely and hands the GIL over sooner, and gives the
process its own settings back."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from square_bi.extract.runner import SYNC_GC_THRESHOLDS, SYNC_SWITCH_INTERVAL_S, sync_interpreter_settings

OWN_THRESHOLDS = (701, 11, 12)
OWN_SWITCH_INTERVAL_S = 0.004


@pytest.fixture
def own_settings() -> Iterator[None]:
    before = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(*OWN_THRESHOLDS)
    sys.setswitchinterval(OWN_SWITCH_INTERVAL_S)
    yield
    gc.set_threshold(*before[0])
    sys.setswitchinterval(before[1])


def _in_sync_settings() -> bool:
    return gc.get_threshold() == SYNC_GC_THRESHOLDS and sys.getswitchinterval() == pytest.approx(SYNC_SWITCH_INTERVAL_S)


def _in_own_settings() -> bool:
    return gc.get_threshold() == OWN_THRESHOLDS and sys.getswitchinterval() == pytest.approx(OWN_SWITCH_INTERVAL_S)


def test_a_sync_changes_the_settings_and_restores_the_processs_own(own_settings: None) -> None:
    assert _in_own_settings()
    with sync_interpreter_settings():
        assert _in_sync_settings()
    assert _in_own_settings()


def test_overlapping_syncs_restore_the_settings_only_when_the_last_one_ends(own_settings: None) -> None:
    with sync_interpreter_settings():
        with sync_interpreter_settings():
            assert _in_sync_settings()
        assert _in_sync_settings()
    assert _in_own_settings()


def test_the_settings_come_back_when_a_sync_fails(own_settings: None) -> None:
    with pytest.raises(RuntimeError), sync_interpreter_settings():
        raise RuntimeError("a stream blew up")
    assert _in_own_settings()
