"""Where each stream stands: watermark, last run, rows, dead letters, last error (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from square_bi.warehouse.database import fetch_dicts
from square_bi.warehouse.snapshot import open_snapshot


@dataclass(frozen=True)
class StreamStatus:
    stream: str
    watermark: datetime | None
    rows_total: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    last_error: str | None
    dead_letters: int


STATUS_SQL = """
WITH per_base AS (
    -- Backfills split a partition into weeks (base@YYYY-MM-DD): a base is as fresh as its newest week.
    SELECT stream, split_part(partition, '@', 1) AS base, max(watermark) AS watermark, sum(rows_total) AS rows_total
    FROM sync_checkpoints GROUP BY ALL
),
cp AS (
    SELECT stream, min(watermark) AS watermark, sum(rows_total) AS rows_total
    FROM per_base GROUP BY stream
),
runs AS (
    SELECT stream, finished_at, status, error,
           max(finished_at) FILTER (WHERE status = 'succeeded') OVER (PARTITION BY stream) AS last_success_at,
           row_number() OVER (PARTITION BY stream ORDER BY started_at DESC) AS rn
    FROM sync_runs
),
dead AS (SELECT stream, count(*) AS n FROM dead_letters GROUP BY stream)
SELECT coalesce(cp.stream, runs.stream) AS stream, cp.watermark, coalesce(cp.rows_total, 0) AS rows_total,
       runs.finished_at AS last_run_at, runs.last_success_at, runs.status AS last_status, runs.error AS last_error,
       coalesce(dead.n, 0) AS dead_letters
FROM cp
FULL JOIN (SELECT * FROM runs WHERE rn = 1) AS runs ON runs.stream = cp.stream
LEFT JOIN dead ON dead.stream = coalesce(cp.stream, runs.stream)
ORDER BY 1
"""


def read_stream_status(con: duckdb.DuckDBPyConnection) -> list[StreamStatus]:
    """Per stream status from an open snapshot connection."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "sync_checkpoints" not in tables:
        return []
    return [StreamStatus(**row) for row in fetch_dicts(con, STATUS_SQL)]


def stream_status(db: Path) -> list[StreamStatus]:
    con = open_snapshot(db)
    try:
        return read_stream_status(con)
    finally:
        con.close()
