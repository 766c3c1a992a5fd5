"""RFC 3339 timestamps the way Square writes and reads them.

Square writes UTC timestamps with a ``Z`` suffix, usually with milliseconds
(``2024-05-01T14:03:27.512Z``) and sometimes without (``2016-09-19T17:33:12Z``); both forms
occur in one response. Filters in requests accept any RFC 3339 offset (``+00:00``, ``-07:00``)
and any number of fractional digits.

Internally the demo keeps instants as integer microseconds since the Unix epoch: comparing
the strings would be wrong (``"...:00Z" > "...:00.123Z"`` because ``Z`` sorts after ``.``).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

US_PER_MS = 1_000
US_PER_SECOND = 1_000_000

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$",
)


def format_ms(epoch_ms: int, *, fraction: bool = True) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS[.mmm]Z`` (UTC)."""
    seconds, millis = divmod(epoch_ms, 1000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{text}.{millis:03d}Z" if fraction else f"{text}Z"


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
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    fraction = match.group(1)
    normalized = text
    if fraction is not None and len(fraction) > 7:
        normalized = text.replace(fraction, fraction[:7], 1)
    moment = datetime.fromisoformat(normalized.replace("z", "Z").replace("t", "T"))
    return datetime_to_us(moment)
