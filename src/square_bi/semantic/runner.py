"""Run a metric query on DuckDB and say what the numbers mean (units, currency, time).

Money, in one query: the compiled SELECT returns each money metric in whole minor units and, per
result group, the group's currency as two trailing columns (``MIN`` and ``MAX`` of the currency
dimension). :func:`run_query` then

- refuses the query (:class:`SemanticQueryError`) if any returned group holds more than one
  currency (``MIN <> MAX``): adding up dollars and pounds means nothing;
- scales every money value by its own row's currency, exactly
  (:func:`square_bi.semantic.money.to_major_units`: 2 places for USD and GBP, 0 for JPY, 3 for
  KWD, in the same result);
- strips the two currency columns, and, when the rows are in more than one currency, inserts a
  column named after the currency dimension (``currency``) right after the group-by columns, so
  each row says what its money is in. It is left out when the result has a single currency (the
  columns are then as they always were; :attr:`MetricInfo.currency` names the code) and when the
  query groups by the currency itself (``order_line_item__currency`` already says it).

The check and the numbers come from the same statement, so they cannot disagree (no separate
look at the data's currencies that a sync could change in between).

:attr:`QueryResult.sql` is the statement that ran: valid DuckDB SQL whose money columns are whole
minor units (each commented so), followed by the two currency columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import duckdb
from pydantic import BaseModel

from square_bi.errors import WarehouseError
from square_bi.semantic.compiler import build_select, to_sql
from square_bi.semantic.errors import SemanticQueryError
from square_bi.semantic.model import DUNDER, MetricTimeGroupBy, SemanticLayer, TimeGrain, Unit
from square_bi.semantic.money import to_major_units
from square_bi.semantic.plan import (
    PlannedCurrency,
    PlannedMetric,
    QueryPlan,
    ResolvedQuery,
    plan_query,
    resolve_query,
)
from square_bi.semantic.query import MetricQuery

__all__ = ["MetricInfo", "QueryResult", "run_query"]

# A group-by that usually separates currencies (each location sells in one), named in the refusal.
SEPARATING_GROUP_BY = "location__name"


class MetricInfo(BaseModel):
    name: str
    label: str
    unit: str
    description: str
    currency: str | None = None
    """ISO 4217 code of a money metric's values when the whole result is in one currency;
    ``None``: not money, no rows, or several currencies (then each row's is in a column)."""


class QueryResult(BaseModel):
    columns: list[str]
    """The group-by columns, then ``currency`` when money rows are in several currencies (see the
    module docstring), then the metrics."""
    rows: list[list[Any]]
    """Money as :class:`decimal.Decimal` major units with the row's currency's places; dates as
    :class:`datetime.date`."""
    metrics: list[MetricInfo]
    sql: str
    """The SQL that ran; its money columns are whole minor units, scaled per row afterwards."""
    notes: list[str] = []
    """What the answer means: the time dimension and grain behind metric_time, currencies."""

    def to_jsonable(self) -> dict[str, Any]:
        """A JSON-safe dict: Decimals as exact strings ("1234.56"), dates as ISO 8601 strings."""
        data = self.model_dump()
        data["rows"] = [[_jsonable(value) for value in row] for row in self.rows]
        return data


def run_query(connection: duckdb.DuckDBPyConnection, layer: SemanticLayer, query: MetricQuery) -> QueryResult:
    """Resolve (names checked before any SQL), compile, execute, then put money in major units.

    Runs one read-only statement on ``connection``; give each thread its own cursor
    (``connection.cursor()``). Raises :class:`SemanticQueryError` when a result row would add up
    money in several currencies.
    """
    resolved = resolve_query(layer, query)
    plan = plan_query(layer, resolved)
    sql = to_sql(build_select(plan))
    cursor = _execute(connection, sql)
    money = _Money(plan, [column[0] for column in cursor.description or []], cursor.fetchall())
    metrics = [
        MetricInfo(
            name=planned.name,
            label=planned.metric.label,
            unit=planned.metric.unit.value,
            description=planned.metric.description,
            currency=money.single_code(planned) if planned.metric.unit is Unit.MONEY else None,
        )
        for planned in plan.metrics
    ]
    columns, rows = money.answer()
    notes = _time_notes(resolved) + money.notes()
    return QueryResult(columns=columns, rows=rows, metrics=metrics, sql=sql, notes=notes)


def _execute(connection: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
    try:
        return connection.execute(sql)
    except duckdb.Error as error:
        raise WarehouseError(f"The warehouse could not answer the metric query: {error}") from error


class _Money:
    """The money of one executed query: each row's currency, the one-currency check, the scaling."""

    def __init__(self, plan: QueryPlan, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.plan = plan
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        self.width = len(plan.dimensions)
        self.low = {c.dimension.name: self.columns.index(c.min_name) for c in plan.currencies}
        self.high = {c.dimension.name: self.columns.index(c.max_name) for c in plan.currencies}
        self.codes = {
            name: sorted({str(row[index]) for row in self.rows if row[index] is not None})
            for name, index in self.low.items()
        }
        self._refuse_mixed_groups()

    def single_code(self, metric: PlannedMetric) -> str | None:
        """The one currency of ``metric``'s values in the result (``None``: several, or none)."""
        codes = self.codes.get(metric.measure.currency_dimension or "", [])
        return codes[0] if len(codes) == 1 else None

    def answer(self) -> tuple[list[str], list[list[Any]]]:
        """Group-by columns, a currency column per :meth:`_shown` dimension, metrics in major units."""
        shown = [c.dimension.name for c in self.plan.currencies if self._shown(c)]
        hidden = set(self.low.values()) | set(self.high.values())
        kept = [i for i in range(len(self.columns)) if i not in hidden]
        scale = [
            (self.columns.index(m.name), self.low[m.measure.currency_dimension])
            for m in self.plan.metrics
            if m.measure.unit is Unit.MONEY and m.measure.currency_dimension in self.low
        ]
        columns = [self.columns[i] for i in kept]
        columns[self.width : self.width] = shown
        rows = []
        for row in self.rows:
            values = list(row)
            for value_index, currency_index in scale:
                values[value_index] = to_major_units(row[value_index], row[currency_index])
            answer = [values[i] for i in kept]
            answer[self.width : self.width] = [row[self.low[name]] for name in shown]
            rows.append(answer)
        return columns, rows

    def notes(self) -> list[str]:
        notes = []
        for currency in self.plan.currencies:
            codes = self.codes[currency.dimension.name]
            if len(codes) <= 1:
                continue
            names = self._metric_names(currency)
            if currency.group_by is not None:
                where = repr(currency.group_by)
            else:
                where = f"currency (column {currency.dimension.name!r})"
            notes.append(f"{names} are in major units of each row's {where}: {', '.join(codes)}; not converted.")
            ordered = [o.name for o in self.plan.order_by if o.name in names]
            if ordered:
                notes.append(f"Ordering by {ordered} compares amounts in different currencies without exchange rates.")
        return notes

    def _refuse_mixed_groups(self) -> None:
        for currency in self.plan.currencies:
            low, high = self.low[currency.dimension.name], self.high[currency.dimension.name]
            mixed = [row for row in self.rows if row[low] != row[high]]
            if not mixed:
                continue
            codes = sorted({str(row[i]) for row in mixed for i in (low, high)})
            group = ", ".join(f"{d.name}={_jsonable(v)}" for d, v in zip(self.plan.dimensions, mixed[0], strict=False))
            suggestion = f"{self.plan.source.primary_entity}{DUNDER}{currency.dimension.name}"
            raise SemanticQueryError(
                f"{self._metric_names(currency)} would add up money in different currencies {codes} within "
                f"one row ({group or 'the total'}), which means nothing; add {suggestion!r} to group_by to get "
                f"one row per currency, or a dimension that separates currencies such as {SEPARATING_GROUP_BY!r}."
            )

    def _shown(self, currency: PlannedCurrency) -> bool:
        return currency.group_by is None and len(self.codes[currency.dimension.name]) > 1

    def _metric_names(self, currency: PlannedCurrency) -> list[str]:
        return [
            m.name
            for m in self.plan.metrics
            if m.measure.unit is Unit.MONEY and m.measure.currency_dimension == currency.dimension.name
        ]


def _time_notes(resolved: ResolvedQuery) -> list[str]:
    notes = []
    for group_by in resolved.group_by:
        if not isinstance(group_by, MetricTimeGroupBy):
            continue
        dimension = resolved.agg_time_dimension
        meaning = f" ({dimension.description.rstrip('.')})" if dimension.description else ""
        grain = group_by.grain
        if grain is dimension.time_granularity:
            detail = f", one row per {grain.value}"
        else:
            week = ", weeks starting on Monday (ISO 8601)" if grain is TimeGrain.WEEK else ""
            detail = f" truncated to the {grain.value}{week}: each row holds the first day of its period"
        notes.append(f"{group_by.name} is {resolved.source.name}.{dimension.name}{meaning}{detail}.")
    return notes


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value
