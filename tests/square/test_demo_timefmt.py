"""The demo's timestamp short cuts agree with the standard library."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest

from square_bi.square.demo.timefmt import format_ms, parse_rfc3339_us


def test_formatting_and_parsing_milliseconds_agree_with_the_standard_library() -> None:
    rng = random.Random(5)
    for _ in range(5_000):
        epoch_ms = rng.randrange(0, 4_102_444_800_000)  # 1970 .. 2100
        seconds, millis = divmod(epoch_ms, 1000)
        whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        assert format_ms(epoch_ms) == f"{whole}.{millis:03d}Z"
        assert format_ms(epoch_ms, fraction=False) == f"{whole}Z"
        expected_us = int(datetime.fromtimestamp(seconds, tz=UTC).timestamp()) * 1_000_000 + millis * 1000
        assert parse_rfc3339_us(format_ms(epoch_ms)) == expected_us
        assert parse_rfc3339_us(format_ms(epoch_ms, fraction=False)) == expected_us - millis * 1000


@pytest.mark.parametrize(
    "text", ["2024-02-30T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T23:60:00.000Z", "2024-01-01T23:00:60Z"]
)
def test_impossible_times_in_the_demos_own_shape_are_still_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339_us(text)
