"""``square-bi status``: per stream, where the sync stands."""

from __future__ import annotations

from pathlib import Path

from square_bi.warehouse.status import stream_status


def print_status(db: Path) -> int:
    rows = stream_status(db)
    if not rows:
        print(f"{db}: no sync has run yet. Run `square-bi sync --db {db}`.")
        return 0
    print(f"{'stream':<10} {'watermark (UTC)':<20} {'last run':<20} {'status':<10} {'rows':>8} {'dead':>5}  error")
    for row in rows:
        print(
            f"{row.stream:<10} {_ts(row.watermark):<20} {_ts(row.last_run_at):<20} {row.last_status or '-':<10} "
            f"{row.rows_total:>8} {row.dead_letters:>5}  {row.last_error or ''}"
        )
    return 0


def _ts(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else "-"
