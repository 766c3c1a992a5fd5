"""What the tools (and the ``query`` CLI) do, as plain functions over a DuckDB file and the
semantic layer. Every read opens the file read-only for the call only (a short lease), so several
processes can answer from one database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from square_bi.errors import ConfigError, SemanticError, did_you_mean
from square_bi.extract.streams import STREAMS
from square_bi.semantic import MetricQuery, QueryResult, SemanticLayer, run_query
from square_bi.server.results import (
    MetricColumn,
    MetricList,
    MetricSummary,
    QueryMetricsResult,
    RunSyncResult,
    StreamFreshness,
    SyncStatus,
)
from square_bi.server.scheduler import SyncScheduler
from square_bi.warehouse.snapshot import open_snapshot
from square_bi.warehouse.status import stream_status

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
CURRENCY_COLUMN = "currency"
TIME_DIMENSION = "metric_time (business date: the order's closed_at in the location's local time zone)"


def list_metrics(layer: SemanticLayer, search: str | None = None) -> MetricList:
    needle = (search or "").strip().lower()
    summaries = []
    for metric in layer.metrics.values():
        haystack = " ".join([metric.name, metric.label, *metric.synonyms]).lower()
        if needle and needle not in haystack:
            continue
        summaries.append(
            MetricSummary(
                name=metric.name,
                label=metric.label,
                description=metric.description.strip().splitlines()[0] if metric.description else "",
                type=str(metric.type.value),
                unit=metric.unit,
            )
        )
    return MetricList(metrics=summaries, total=len(summaries))


def query_metrics(
    db: Path,
    layer: SemanticLayer,
    *,
    metrics: list[str],
    group_by: list[str] | None = None,
    order_by: list[str] | None = None,
    limit: int | None = None,
) -> QueryMetricsResult:
    """Compile (names checked against the semantic layer) and run on a read-only connection."""
    effective_limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= effective_limit <= MAX_LIMIT:
        raise SemanticError(f"limit must be between 1 and {MAX_LIMIT}, got {effective_limit}.")
    query = MetricQuery(metrics=metrics, group_by=group_by or [], order_by=order_by or [], limit=effective_limit + 1)
    con = open_snapshot(db)
    try:
        result = run_query(con, layer, query)
        freshness = _freshness(con)
    finally:
        con.close()
    rows: list[list[Any]] = result.to_jsonable()["rows"]
    limit_hit = len(rows) > effective_limit
    rows = rows[:effective_limit]
    return QueryMetricsResult(
        columns=result.columns,
        rows=rows,
        row_count=len(rows),
        limit=effective_limit,
        limit_hit=limit_hit,
        metrics=[
            MetricColumn(name=m.name, label=m.label, unit=m.unit, description=m.description) for m in result.metrics
        ],
        group_by=list(query.group_by),
        time_dimension=TIME_DIMENSION,
        currencies=_currencies(result),
        notes=list(result.notes),
        data_freshness=freshness,
    )


def _currencies(result: QueryResult) -> list[str]:
    """The currencies of the answer's money: one per metric, or the per-row currency column."""
    found = {m.currency for m in result.metrics if m.currency}
    for index, column in enumerate(result.columns):
        if column == CURRENCY_COLUMN or column.endswith("__" + CURRENCY_COLUMN):
            found.update(str(row[index]) for row in result.rows if row[index] is not None)
    return sorted(found)


def _freshness(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute("SELECT max(finished_at) FROM sync_runs WHERE status = 'succeeded'").fetchone()
    except duckdb.Error:
        return None
    return row[0].isoformat() + "Z" if row and row[0] is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def sync_status(db: Path, scheduler: SyncScheduler | None) -> SyncStatus:
    streams = [
        StreamFreshness(
            stream=s.stream,
            watermark=_iso(s.watermark),
            last_run_at=_iso(s.last_run_at),
            last_status=s.last_status,
            rows_total=s.rows_total,
            dead_letters=s.dead_letters,
            last_error=s.last_error,
        )
        for s in stream_status(db)
    ]
    con = open_snapshot(db)
    try:
        row = con.execute("SELECT max(published_at) FROM snapshot_info").fetchone()
    finally:
        con.close()
    return SyncStatus(
        streams=streams,
        data_freshness=_iso(row[0]) if row else None,
        sync_running=bool(scheduler and scheduler.state.running),
        last_outcome=scheduler.state.last_outcome if scheduler else None,
        syncing_enabled=scheduler is not None,
    )


def start_sync(scheduler: SyncScheduler, streams: list[str] | None) -> RunSyncResult:
    unknown = [name for name in streams or [] if name not in STREAMS]
    if unknown:
        raise ConfigError(did_you_mean(unknown[0], STREAMS, kind="stream"))
    if scheduler.trigger(streams):
        return RunSyncResult(started=True, message="Sync started; call sync_status to see when it finishes.")
    return RunSyncResult(started=False, message="A sync is already running in this server; call sync_status.")
