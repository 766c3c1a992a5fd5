"""``square-bi sync``: report what one sync did."""

from __future__ import annotations

import sys
from pathlib import Path

from square_bi.warehouse.sync import SyncResult


def format_sync_result(result: SyncResult) -> list[str]:
    lines = []
    for name, stats in sorted(result.report.streams.items()):
        state = "FAILED" if stats.error else "ok"
        lines.append(
            f"  {name:<13} {state:<6} {stats.rows:>8} rows  {stats.pages:>5} pages  "
            f"{stats.requests:>5} requests  {stats.retries:>3} retries  {stats.dead_letters:>3} dead letters"
        )
    return lines


def print_sync_result(result: SyncResult, db: Path) -> int:
    """Print the per-stream summary; exit code 1 if any stream failed."""
    print(f"Synced into {db} (run {result.report.run_id}):")
    for line in format_sync_result(result):
        print(line)
    counts = ", ".join(f"{table} {n}" for table, n in result.star_counts.items())
    print(f"Star schema: {counts}")
    for name, error in sorted(result.report.failed.items()):
        print(f"square-bi: error: stream {name} failed: {error}", file=sys.stderr)
    return 0 if result.report.ok else 1
