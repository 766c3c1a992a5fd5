"""Period over period in one call: each metric for a current and a previous period, per group."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from square_bi.errors import SemanticError
from square_bi.semantic import SemanticLayer
from square_bi.server.results import ComparePeriodsResult, QueryMetricsResult
from square_bi.server.service import MAX_LIMIT, query_metrics
from square_bi.server.time_ranges import TIME_RANGES


def _period(value: Any, name: str) -> dict[str, Any]:
    """A named range ('last_week') or {'start': 'YYYY-MM-DD', 'end': 'YYYY-MM-DD'}."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SemanticError(f"{name}: could not parse {value!r} as JSON ({exc.msg}).") from None
    if isinstance(value, str):
        return {"time_range": value}
    if isinstance(value, dict) and set(value) <= {"start", "end"} and value:
        return {"start": value.get("start"), "end": value.get("end")}
    raise SemanticError(
        f"{name}: give a named range ({', '.join(TIME_RANGES)}) or {{'start': 'YYYY-MM-DD', 'end': 'YYYY-MM-DD'}}."
    )


def _number(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def compare_periods(
    db: Path,
    layer: SemanticLayer,
    *,
    metrics: list[str],
    current: Any,
    previous: Any,
    group_by: list[str] | None = None,
    where: Any = None,
    now: datetime | None = None,
) -> ComparePeriodsResult:
    if any(name.startswith("metric_time") for name in group_by or []):
        raise SemanticError("compare_periods compares whole periods: group by dimensions other than metric_time.")
    results = [
        query_metrics(
            db, layer, metrics=metrics, group_by=group_by, where=where, limit=MAX_LIMIT, now=now, **_period(p, n)
        )
        for p, n in ((current, "current"), (previous, "previous"))
    ]
    cur, prev = results
    keys = [c for c in cur.columns if c not in metrics]
    current_rows = {tuple(row[cur.columns.index(k)] for k in keys): row for row in cur.rows}
    previous_rows = {tuple(row[prev.columns.index(k)] for k in keys): row for row in prev.rows}
    columns = list(keys)
    for metric in metrics:
        columns += [f"{metric}__current", f"{metric}__previous", f"{metric}__delta", f"{metric}__pct_change"]
    rows = []
    for key in sorted(set(current_rows) | set(previous_rows), key=lambda k: [str(v) for v in k]):
        row: list[Any] = list(key)
        for metric in metrics:
            a = _number(current_rows[key][cur.columns.index(metric)]) if key in current_rows else None
            b = _number(previous_rows[key][prev.columns.index(metric)]) if key in previous_rows else None
            delta = a - b if a is not None and b is not None else None
            pct = round(float(delta / b * 100), 2) if delta is not None and b not in (None, 0) else None
            row += [_text(a), _text(b), _text(delta), pct]
        rows.append(row)
    notes = [
        "pct_change is in percent ((current - previous) / previous * 100); null when previous is 0 or missing.",
        *cur.notes,
    ]
    return ComparePeriodsResult(
        columns=columns,
        rows=rows,
        row_count=len(rows),
        current=_echo(cur),
        previous=_echo(prev),
        time_zone=cur.time_zone,
        currencies=sorted(set(cur.currencies) | set(prev.currencies)),
        notes=notes,
    )


def _echo(result: QueryMetricsResult) -> dict[str, str]:
    """The period as resolved: start, end, and the named range if one was asked for."""
    echo = {"start": result.start or "", "end": result.end or ""}
    if result.time_range:
        echo["time_range"] = result.time_range
    return echo


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
