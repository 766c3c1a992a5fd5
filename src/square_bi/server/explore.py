"""Discovering what can be asked: dimensions, their values, and the SQL behind an answer."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from square_bi.errors import SemanticError, did_you_mean
from square_bi.semantic import MetricTimeGroupBy, SemanticLayer, TimeGrain, compile_query, run_query, to_sql
from square_bi.server.results import DimensionInfo, DimensionList, DimensionValues, ExplainResult
from square_bi.server.service import build_query, resolve_dates, snapshot

DIALECTS = ("duckdb", "snowflake", "bigquery", "postgres", "databricks")
VALUES_METRIC = "order_count"
"""The metric that ranks a dimension's values by how common they are."""


def _normalise(text: str) -> str:
    """Case- and separator-insensitive form: 'Shore-ditch' and 'shore ditch' both become 'shoreditch'."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def get_dimensions(layer: SemanticLayer, metrics: list[str], search: str | None) -> DimensionList:
    """Dimensions usable with every one of ``metrics`` (all metrics when none given); a time
    dimension is listed once with its grains, not once per grain."""
    names = metrics or list(layer.metrics)
    for name in names:
        if name not in layer.metrics:
            raise SemanticError(did_you_mean(name, layer.metrics, kind="metric"))
    if metrics:
        group_bys = layer.group_bys_for(names)
    else:
        group_bys = {}
        for name in names:
            group_bys.update(layer.group_bys_for([name]))
    time: dict[str, list[str]] = {}
    categorical: dict[str, str | None] = {}
    for key, group_by in sorted(group_bys.items()):
        if isinstance(group_by, MetricTimeGroupBy) or group_by.grain is not None:
            base, grain = key.rsplit("__", 1)
            time.setdefault(base, []).append(grain)
        else:
            categorical[key] = group_by.dimension.description or group_by.dimension.label
    # A multi-hop path (order__location__name) that repeats a direct one (location__name) adds nothing.
    categorical = {
        key: text
        for key, text in categorical.items()
        if key.count("__") < 2 or "__".join(key.split("__")[-2:]) not in categorical
    }
    needle = _normalise(search or "")
    order = [grain.value for grain in TimeGrain]
    time = {base: sorted(grains, key=order.index) for base, grains in time.items()}
    infos = [
        DimensionInfo(
            name=base, kind="time", grains=grains, description=f"group by NAME__GRAIN, e.g. {base}__{grains[0]}"
        )
        for base, grains in time.items()
    ] + [DimensionInfo(name=key, kind="categorical", description=text) for key, text in categorical.items()]
    if needle:
        infos = [info for info in infos if needle in _normalise(info.name + " " + (info.description or ""))]
    return DimensionList(dimensions=infos, total=len(infos))


def get_dimension_values(
    db: Path, layer: SemanticLayer, dimension: str, search: str | None, limit: int | None
) -> DimensionValues:
    """Distinct values, most common first; a fuzzy search that falls back to the most common."""
    count = 20 if limit is None else limit
    if not 1 <= count <= 1000:
        raise SemanticError(f"limit must be between 1 and 1000, got {count}.")
    query = build_query(metrics=[VALUES_METRIC], group_by=[dimension], order_by=[f"-{VALUES_METRIC}"])
    with snapshot(db) as con:
        result = run_query(con, layer, query)
    column = result.columns.index(query.group_by[0])
    values: list[Any] = [row[column] for row in result.to_jsonable()["rows"] if row[column] is not None]
    needle = _normalise(search or "")
    if not needle:
        return DimensionValues(dimension=dimension, values=values[:count], matched_search=True)
    matches = [v for v in values if needle in _normalise(str(v))]
    if matches:
        return DimensionValues(dimension=dimension, values=matches[:count], matched_search=True)
    return DimensionValues(
        dimension=dimension,
        values=values[:count],
        matched_search=False,
        note=f"No value of {dimension} matches {search!r}; these are its most common values.",
    )


def explain_query(
    db: Path,
    layer: SemanticLayer,
    *,
    metrics: list[str],
    group_by: list[str] | None,
    where: Any,
    start: Any,
    end: Any,
    time_range: str | None,
    order_by: list[str] | None,
    limit: int | None,
    dialect: str,
    now: datetime | None = None,
) -> ExplainResult:
    if dialect not in DIALECTS:
        raise SemanticError(did_you_mean(dialect, DIALECTS, kind="dialect"))
    with snapshot(db) as con:
        _zone, start, end = resolve_dates(con, time_range, start, end, now)
    query = build_query(
        metrics=metrics, group_by=group_by, order_by=order_by, limit=limit, where=where, start=start, end=end
    )
    sql = to_sql(compile_query(layer, query), dialect, pretty=True)
    return ExplainResult(
        sql=sql,
        dialect=dialect,
        note=(
            "Money columns in this SQL are whole minor units (cents), with each row's currency in the "
            "__..._currency columns (their _low/_high hashes differ when a row would mix currencies); "
            "query_metrics converts them to major units."
        ),
    )
