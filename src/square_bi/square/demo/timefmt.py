"""RFC 3339 timestamps the way Square writes and reads them.

Square writes UTC timestamps with a ``Z`` suffix, usually with milliseconds
(``2024-05-01T14:03:27.512Z``) and sometimes without (``2016-09-19T17:33:12Z``); both forms
occur in one response. Filters in requests accept any RFC 3339 offset (``+00:00``, ``-07:00``)
and any number of fractional digits.

Internally the demo keeps instants as integer microseconds since the Unix epoch: comparing
the strings would be wrong (``"...:00Z" > "...:00.123Z"`` because ``Z`` sorts after ``.``).

Both directions are on the hot path of a merchant with a million line items (millions of
timestamps), so the two shapes the demo writes itself take a short cut: the date part is formatted
or parsed once per day and cached, the time of day is plain integer arithmetic.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from functools import lru_cache

US_PER_MS = 1_000
US_PER_SECOND = 1_000_000

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$",
)


_FAST = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?Z$")
"""The shapes the demo writes (``format_ms``): parsed without building a datetime."""


@lru_cache(maxsize=8192)
def _day_prefix(day: int) -> str:
    """``YYYY-MM-DDT`` of the UTC day ``day`` (days since the epoch)."""
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))


@lru_cache(maxsize=86_400)
def _clock(second_of_day: int) -> str:
    """``HH:MM:SS`` of a second of the day."""
    hours, second = divmod(second_of_day, 3600)
    minutes, second = divmod(second, 60)
    return f"{hours:02d}:{minutes:02d}:{second:02d}"


@lru_cache(maxsize=8192)
def _day_us(date: str) -> int:
    """Epoch microseconds of midnight UTC on ``YYYY-MM-DD`` (``ValueError`` for an impossible date)."""
    return datetime_to_us(datetime.fromisoformat(date).replace(tzinfo=UTC))


_RECENT_LIMIT = 4096
_recent: dict[str, int] = {}
"""The last timestamps :func:`format_ms` wrote -> their epoch microseconds: the demo's stores
parse every timestamp moments after the generator formatted it."""


def format_ms(epoch_ms: int, *, fraction: bool = True) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS[.mmm]Z`` (UTC)."""
    seconds, millis = divmod(epoch_ms, 1000)
    day, second = divmod(seconds, 86_400)
    text = _day_prefix(day) + _clock(second)
    text = f"{text}.{millis:03d}Z" if fraction else f"{text}Z"
    if len(_recent) >= _RECENT_LIMIT:
        _recent.clear()
    _recent[text] = (epoch_ms if fraction else seconds * 1000) * US_PER_MS
    return text


def format_us(epoch_us: int) -> str:
    """Format epoch microseconds, keeping milliseconds only when they are not zero."""
    millis = epoch_us // US_PER_MS
    return format_ms(millis, fraction=millis % 1000 != 0)


def datetime_to_us(moment: datetime) -> int:
    """Convert an aware datetime to epoch microseconds (exact, no float rounding)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def us_to_datetime(epoch_us: int) -> datetime:
    """Convert epoch microseconds to an aware UTC datetime."""
    seconds, micros = divmod(epoch_us, US_PER_SECOND)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)


def parse_rfc3339_us(text: str) -> int:
    """Parse an RFC 3339 timestamp (offset required) into epoch microseconds.

    Raises ``ValueError`` for anything that is not RFC 3339, including timestamps without an
    offset, which Square would have to guess a zone for. Digits beyond microseconds are
    truncated.
    """
    recent = _recent.get(text)
    if recent is not None:
        return recent
    fast = _FAST.match(text)
    if fast is not None:
        date, hours, minutes, seconds, millis = fast.groups()
        clock = int(hours) * 3600 + int(minutes) * 60 + int(seconds)
        if int(hours) < 24 and int(minutes) < 60 and int(seconds) < 60:
            return _day_us(date) + clock * US_PER_SECOND + (int(millis) * US_PER_MS if millis else 0)
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    fraction = match.group(1)
    normalized = text
    if fraction is not None and len(fraction) > 7:
        normalized = text.replace(fraction, fraction[:7], 1)
    moment = datetime.fromisoformat(normalized.replace("z", "Z").replace("t", "T"))
    return datetime_to_us(moment)
