"""``square-bi status``: per stream, where the sync stands."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from square_bi.extract.records import utc_now
from square_bi.warehouse.status import stream_status


def print_status(db: Path) -> int:
    rows = stream_status(db)
    if not rows:
        print(f"{db}: no sync has run yet. Run `square-bi sync --db {db}`.")
        return 0
    now = utc_now()
    print(
        f"{'stream':<13} {'watermark (UTC)':<20} {'lag':>8} {'last success':<20} {'status':<10} "
        f"{'rows':>8} {'dead':>5}  last error"
    )
    for row in rows:
        lag = _lag(now - row.watermark) if row.watermark is not None else "-"
        print(
            f"{row.stream:<13} {_ts(row.watermark):<20} {lag:>8} {_ts(row.last_success_at):<20} "
            f"{row.last_status or '-':<10} {row.rows_total:>8} {row.dead_letters:>5}  {row.last_error or ''}"
        )
    return 0


def _ts(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _lag(delta: timedelta) -> str:
    """How far behind Square the warehouse is, e.g. '4m', '3h', '2d'."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
