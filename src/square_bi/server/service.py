"""What the tools (and the ``query`` CLI) do, as plain functions over the warehouse's serving
snapshot and the semantic layer. Every read opens the snapshot read-only for the call only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
from pydantic import ValidationError

from square_bi.errors import ConfigError, SemanticError, WarehouseError, did_you_mean
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
from square_bi.server.time_ranges import local_today, merchant_timezone, resolve_time_range
from square_bi.warehouse.snapshot import open_snapshot
from square_bi.warehouse.status import read_stream_status

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
MAX_RESULT_CHARS = 100_000
QUERY_TIMEOUT_S = 10.0
CURRENCY_COLUMN = "currency"
TIME_DIMENSION = "metric_time (business date: the order's closed_at in the location's local time zone)"


def list_metrics(layer: SemanticLayer, search: str | None = None) -> MetricList:
    words = [w for w in (search or "").lower().replace("_", " ").split() if w]
    summaries = []
    for metric in layer.metrics.values():
        haystack = " ".join([metric.name.replace("_", " "), metric.label, *metric.synonyms]).lower()
        if words and not all(word in haystack for word in words):
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


@contextmanager
def snapshot(db: Path, *, timeout_s: float = QUERY_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """The serving snapshot, read-only, interrupted if a statement runs longer than ``timeout_s``."""
    con = open_snapshot(db)
    timer = threading.Timer(timeout_s, con.interrupt)
    timer.start()
    try:
        yield con
    except (duckdb.InterruptException, WarehouseError) as exc:
        interrupted = isinstance(exc, duckdb.InterruptException) or isinstance(exc.__cause__, duckdb.InterruptException)
        if not interrupted:
            raise
        raise WarehouseError(
            f"The query took longer than {timeout_s:.0f} s and was stopped; group by fewer or coarser dimensions."
        ) from exc
    finally:
        timer.cancel()
        con.close()


def build_query(
    *,
    metrics: list[str],
    group_by: list[str] | None = None,
    order_by: list[str] | None = None,
    limit: int | None = None,
    where: Any = None,
    start: date | str | None = None,
    end: date | str | None = None,
) -> MetricQuery:
    """A validated MetricQuery, or a SemanticError saying which argument is wrong and how."""
    try:
        return MetricQuery.model_validate(
            {
                "metrics": metrics,
                "group_by": group_by or [],
                "order_by": order_by or [],
                "limit": limit,
                "where": where or [],
                "start": start,
                "end": end,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'query'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise SemanticError(f"Invalid query: {problems}.") from None


def resolve_dates(
    con: duckdb.DuckDBPyConnection, time_range: str | None, start: Any, end: Any, now: datetime | None = None
) -> tuple[str, date | str | None, date | str | None]:
    """(merchant time zone, start, end), with a named range resolved in the merchant's calendar
    as of ``now`` (default: the current time)."""
    zone = merchant_timezone(con)
    if time_range:
        if start is not None or end is not None:
            raise SemanticError("Give either time_range or start/end, not both.")
        return (zone, *resolve_time_range(time_range, local_today(zone, now)))
    return zone, start, end


def query_metrics(
    db: Path,
    layer: SemanticLayer,
    *,
    metrics: list[str],
    group_by: list[str] | None = None,
    order_by: list[str] | None = None,
    limit: int | None = None,
    where: Any = None,
    start: Any = None,
    end: Any = None,
    time_range: str | None = None,
    now: datetime | None = None,
) -> QueryMetricsResult:
    """Compile (every name checked against the semantic layer) and run on the snapshot."""
    effective_limit = DEFAULT_LIMIT if limit is None else limit
    if not isinstance(effective_limit, int) or not 1 <= effective_limit <= MAX_LIMIT:
        raise SemanticError(f"limit must be a whole number between 1 and {MAX_LIMIT}, got {effective_limit!r}.")
    with snapshot(db) as con:
        zone, start, end = resolve_dates(con, time_range, start, end, now)
        query = build_query(
            metrics=metrics,
            group_by=group_by,
            order_by=order_by,
            limit=effective_limit + 1,
            where=where,
            start=start,
            end=end,
        )
        result = run_query(con, layer, query)
        freshness = _freshness(con)
    rows: list[list[Any]] = result.to_jsonable()["rows"]
    limit_hit = len(rows) > effective_limit
    rows, truncated = _fit(rows[:effective_limit])
    grains = [name.rsplit("__", 1)[1] for name in query.group_by if name.startswith("metric_time__")]
    return QueryMetricsResult(
        columns=result.columns,
        rows=rows,
        row_count=len(rows),
        limit=effective_limit,
        limit_hit=limit_hit or truncated,
        metrics=[
            MetricColumn(name=m.name, label=m.label, unit=m.unit, description=m.description) for m in result.metrics
        ],
        group_by=list(query.group_by),
        time_dimension=TIME_DIMENSION,
        time_grain=grains[0] if grains else None,
        time_zone=zone,
        time_range=time_range,
        start=query.start.isoformat() if query.start else None,
        end=query.end.isoformat() if query.end else None,
        filters=[f.model_dump(mode="json", exclude_none=True) for f in query.where],
        currencies=_currencies(result),
        notes=list(result.notes),
        data_freshness=freshness,
        truncated=truncated,
    )


def _fit(rows: list[list[Any]]) -> tuple[list[list[Any]], bool]:
    """Rows cut to fit ``MAX_RESULT_CHARS`` of JSON, and whether any were cut."""
    size = 0
    for index, row in enumerate(rows):
        size += len(json.dumps(row, default=str)) + 1
        if size > MAX_RESULT_CHARS:
            return rows[:index], True
    return rows, False


def _currencies(result: QueryResult) -> list[str]:
    """The currencies of the answer's money: one per metric, or the per-row currency column."""
    found = {m.currency for m in result.metrics if m.currency}
    for index, column in enumerate(result.columns):
        if column == CURRENCY_COLUMN or column.endswith("__" + CURRENCY_COLUMN):
            found.update(str(row[index]) for row in result.rows if row[index] is not None)
    return sorted(found)


def _freshness(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute("SELECT max(published_at) FROM snapshot_info").fetchone()
    except duckdb.Error:
        return None
    return _iso(row[0]) if row else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def sync_status(db: Path, scheduler: SyncScheduler | None) -> SyncStatus:
    with snapshot(db) as con:  # one snapshot for both, so they describe the same publish
        rows = read_stream_status(con)
        freshness = _freshness(con)
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
        for s in rows
    ]
    return SyncStatus(
        streams=streams,
        data_freshness=freshness,
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
