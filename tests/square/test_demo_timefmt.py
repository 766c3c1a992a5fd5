"""The demo's timestamp short cuts agree with the standard library."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest

from square_bi.square.demo.timefmt import format_ms, parse_rfc3339_us


def _moments(seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(0, 4_102_444_800_000) for _ in range(3_000)]  # epoch ms, 1970 .. 2100


def _standard(epoch_ms: int, *, fraction: bool) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{millis:03d}Z" if fraction else f"{whole}Z"


def _expected_us(epoch_ms: int, *, fraction: bool) -> int:
    seconds, millis = divmod(epoch_ms, 1000)
    whole_us = int(datetime.fromtimestamp(seconds, tz=UTC).timestamp()) * 1_000_000
    return whole_us + (millis * 1000 if fraction else 0)


def test_parsing_timestamps_written_elsewhere_agrees_with_the_standard_library() -> None:
    for epoch_ms in _moments(5):  # never formatted by the demo: no short cut through its recent timestamps
        for fraction in (True, False):
            assert parse_rfc3339_us(_standard(epoch_ms, fraction=fraction)) == _expected_us(epoch_ms, fraction=fraction)


def test_formatting_and_reading_back_milliseconds_agrees_with_the_standard_library() -> None:
    for epoch_ms in _moments(6):
        for fraction in (True, False):
            text = format_ms(epoch_ms, fraction=fraction)
            assert text == _standard(epoch_ms, fraction=fraction)
            assert parse_rfc3339_us(text) == _expected_us(epoch_ms, fraction=fraction)


@pytest.mark.parametrize(
    "text", ["2024-02-30T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T23:60:00.000Z", "2024-01-01T23:00:60Z"]
)
def test_impossible_times_in_the_demos_own_shape_are_still_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339_us(text)
