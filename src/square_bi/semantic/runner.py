"""Run a metric query on DuckDB and say what the numbers mean (units, currency, time).

Money, in one query: the compiled SELECT returns each money metric in whole minor units and, per
result group and money node, three trailing columns: a currency code (``ANY_VALUE``) and ``MIN``
and ``MAX`` of the codes' hashes (a numeric check, far cheaper than text ``MIN`` / ``MAX``).
:func:`run_query` then

- refuses the query (:class:`SemanticQueryError`) if any returned group holds more than one
  currency (hashes differ, or nodes' codes differ): adding up dollars and pounds means nothing;
  only then it runs the query a second time with ``MIN`` / ``MAX`` of the codes themselves, to
  name the currencies in the refusal;
- scales every money value by its own row's currency, exactly
  (:func:`square_bi.semantic.money.to_major_units`: 2 places for USD and GBP, 0 for JPY, 3 for
  KWD, in the same result);
- strips the currency columns, and, when the rows are in more than one currency, inserts a
  column named after the currency dimension (``currency``) right after the group-by columns, so
  each row says what its money is in. It is left out when the result has a single currency (the
  columns are then as they always were; :attr:`MetricInfo.currency` names the code) and when the
  query groups by the currency itself (``order_line_item__currency`` already says it).

The check and the numbers come from the same statement, so they cannot disagree. Where the
warehouse's column statistics prove that all of a model's rows hold one currency, the compiler
writes that code as a constant instead of checking every row
(:mod:`square_bi.semantic.proven_currency`), and when they prove all of a query's money in the
same currency, the query returns no currency columns at all. The statistics are read before the query and, unless
the database is read-only, again after it: DuckDB's statistics only widen as rows are committed,
and every row the query saw was committed before it started, so when the second reading still
proves the same currencies, so did the query's rows; when it does not (a write on another
connection added a currency meanwhile), the query runs again with the per-row check.

:attr:`QueryResult.sql` is the statement that ran: valid DuckDB SQL whose money columns are whole
minor units (each commented so), followed by the currency columns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import duckdb
from pydantic import BaseModel

from square_bi.errors import WarehouseError
from square_bi.semantic.compiler import build_select, to_sql
from square_bi.semantic.errors import SemanticQueryError
from square_bi.semantic.model import DUNDER, METRIC_TIME, MetricType, SemanticLayer, TimeGrain, Unit
from square_bi.semantic.money import to_major_units
from square_bi.semantic.plan import PlannedMetric, QueryPlan, plan_query
from square_bi.semantic.proven_currency import currency_statistics
from square_bi.semantic.query import MetricQuery
from square_bi.semantic.resolve import resolve_query

__all__ = ["MetricInfo", "QueryResult", "run_query"]

# A group-by that usually separates currencies (each location sells in one), named in the refusal.
SEPARATING_GROUP_BY = "location__name"
CURRENCY_COLUMN = "currency"


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

    Runs read-only statements on ``connection`` (the query, and a look at its currency columns'
    statistics before it, and after it unless the database is read-only); give each thread its
    own cursor (``connection.cursor()``). Raises :class:`SemanticQueryError` when a result row
    would add up money in several currencies.
    """
    plan = plan_query(layer, resolve_query(layer, query))
    before = currency_statistics(connection, plan)
    proven = before.proven
    sql, raw_columns, raw_rows = _run(connection, dataclasses.replace(plan, proven_currencies=proven))
    if proven and not before.read_only and currency_statistics(connection, plan).proven != proven:
        proven = ()  # a write on another connection changed the currencies while the query ran
        sql, raw_columns, raw_rows = _run(connection, plan)
    plan = dataclasses.replace(plan, proven_currencies=proven)
    money = _Money(plan, raw_columns, raw_rows)
    if money.mixed:  # refused: name the currencies (the same SQL with MIN / MAX of the codes themselves)
        exact = dataclasses.replace(plan, exact_currencies=True)
        _Money(exact, *_run(connection, exact)[1:])
        money.refuse(money.mixed[0], ["several"])
    metrics = [
        MetricInfo(
            name=planned.name,
            label=planned.metric.label,
            unit=planned.metric.unit.value,
            description=planned.metric.description,
            currency=money.single_code() if planned.metric.unit is Unit.MONEY else None,
        )
        for planned in plan.metrics
    ]
    columns, rows = money.answer()
    notes = _time_notes(plan, query) + _metric_notes(plan) + money.notes()
    return QueryResult(columns=columns, rows=rows, metrics=metrics, sql=sql, notes=notes)


def _run(connection: duckdb.DuckDBPyConnection, plan: QueryPlan) -> tuple[str, list[str], list[tuple[Any, ...]]]:
    """The plan's SQL, its column names and its rows."""
    sql = to_sql(build_select(plan))
    cursor = _execute(connection, sql)
    return sql, [column[0] for column in cursor.description or []], cursor.fetchall()


def _execute(connection: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
    try:
        return connection.execute(sql)
    except duckdb.Error as error:
        raise WarehouseError(f"The warehouse could not answer the metric query: {error}") from error


class _Money:
    """The money of one executed query: each row's currency, the one-currency check, the scaling.

    Every node holding money measures returns, per row, a currency code and ``MIN`` / ``MAX`` of
    its codes' hashes (of the codes themselves when the plan's ``exact_currencies``); a row is in
    one currency when each node's two agree and the nodes' codes agree (NULL ones ignored: no
    money in that node). Rows that are not are listed in :attr:`mixed` (exact plans raise).
    """

    def __init__(self, plan: QueryPlan, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.plan = plan
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        self.width = len(plan.dimensions)
        self.triples = [
            tuple(self.columns.index(c) for c in node.currency_columns)
            for node in plan.nodes
            if node.currency is not None and plan.one_proven_currency is None
        ]
        self.hidden = [index for triple in self.triples for index in triple]
        self.mixed: list[list[Any]] = []
        self.row_codes = [self._row_code(row) for row in self.rows]
        self.codes = sorted({code for code in self.row_codes if code is not None})

    def single_code(self) -> str | None:
        """The one currency of the result's money (``None``: several, or none)."""
        return self.codes[0] if len(self.codes) == 1 else None

    def answer(self) -> tuple[list[str], list[list[Any]]]:
        """Group-by columns, ``currency`` when shown, metrics (money in major units)."""
        shown = self._shown()
        kept = [i for i in range(len(self.columns)) if i not in self.hidden]
        scale = [self.columns.index(m.name) for m in self.plan.metrics if m.metric.unit is Unit.MONEY]
        columns = [self.columns[i] for i in kept]
        if shown:
            columns[self.width : self.width] = [CURRENCY_COLUMN]
        rows = []
        for row, code in zip(self.rows, self.row_codes, strict=True):
            values = list(row)
            for index in scale:
                values[index] = to_major_units(row[index], code)
            answer = [values[i] for i in kept]
            if shown:
                answer[self.width : self.width] = [code]
            rows.append(answer)
        return columns, rows

    def notes(self) -> list[str]:
        if len(self.codes) <= 1:
            return []
        names = [m.name for m in self.plan.metrics if m.metric.unit is Unit.MONEY]
        if not names:
            return []
        grouped = self.plan.currency_group_by
        where = repr(grouped[0]) if grouped else f"currency (column {CURRENCY_COLUMN!r})"
        notes = [f"{names} are in major units of each row's {where}: {', '.join(self.codes)}; not converted."]
        ordered = [o.name for o in self.plan.order_by if o.name in names]
        if ordered:
            notes.append(f"Ordering by {ordered} compares amounts in different currencies without exchange rates.")
        return notes

    def _row_code(self, row: list[Any]) -> str | None:
        if self.plan.one_proven_currency is not None:
            return self.plan.one_proven_currency  # no currency columns: proven for every row
        codes: set[str] = set()
        several = False
        for code, low, high in self.triples:
            if self.plan.exact_currencies:
                codes.update(str(row[i]) for i in (low, high) if row[i] is not None)
            else:
                codes.update([str(row[code])] if row[code] is not None else [])
                several = several or row[low] != row[high]
        found = sorted(codes)
        if len(found) <= 1 and not several:
            return found[0] if found else None
        if self.plan.exact_currencies:
            self.refuse(row, found)
        self.mixed.append(row)
        return None

    def refuse(self, row: list[Any], found: list[str]) -> None:
        money = [m.name for m in self.plan.metrics if m.money_measures]
        group = ", ".join(f"{d}={_jsonable(v)}" for d, v in zip(self.plan.dimensions, row, strict=False))
        source = self.plan.nodes[0].source
        suggestion = f"{source.primary_entity}{DUNDER}{CURRENCY_COLUMN}"
        currencies = f"{found}" if found != ["several"] else ""
        raise SemanticQueryError(
            f"{money} would add up money in different currencies {currencies}".rstrip()
            + f" within one row ({group or 'the total'}), which means nothing; add {suggestion!r} to group_by "
            f"to get one row per currency, or a dimension that separates currencies such as "
            f"{SEPARATING_GROUP_BY!r}."
        )

    def _shown(self) -> bool:
        has_money = any(m.metric.unit is Unit.MONEY for m in self.plan.metrics)
        return has_money and len(self.codes) > 1 and not self.plan.currency_group_by


def _time_notes(plan: QueryPlan, query: MetricQuery) -> list[str]:
    notes = []
    for name in plan.dimensions:
        if not name.startswith(METRIC_TIME + DUNDER):
            continue
        grain = TimeGrain(name.split(DUNDER)[-1])
        seen: set[str] = set()
        for node in plan.nodes:
            dimension = node.time_dimension
            label = f"{node.source.name}.{dimension.name}"
            if label in seen:
                continue
            seen.add(label)
            meaning = f" ({dimension.description.rstrip('.')})" if dimension.description else ""
            if grain is dimension.time_granularity:
                detail = f", one row per {grain.value}"
            else:
                week = ", weeks starting on Monday (ISO 8601)" if grain is TimeGrain.WEEK else ""
                detail = f" truncated to the {grain.value}{week}: each row holds the first day of its period"
            notes.append(f"{name} is {label}{meaning}{detail}.")
    if query.start is not None or query.end is not None:
        notes.append(
            f"Business dates from {query.start or 'the first'} to {query.end or 'the last'} (inclusive); "
            "a period cut by the range holds only its days inside it."
        )
    return notes


def _metric_notes(plan: QueryPlan) -> list[str]:
    notes = []
    for planned in plan.metrics:
        spec = planned.metric.cumulative
        if planned.metric.type is MetricType.CUMULATIVE and spec is not None:
            notes.append(_cumulative_note(planned, plan))
        offsets = [i.offset for i in planned.metric.inputs if i.offset is not None]
        if offsets:
            notes.append(
                f"{planned.name} compares each row's period with the period {offsets[0]} earlier (same other "
                "group-by values); empty when that earlier period has nothing."
            )
    return notes


def _cumulative_note(planned: PlannedMetric, plan: QueryPlan) -> str:
    spec = planned.metric.cumulative
    assert spec is not None
    if spec.grain_to_date is not None:
        span = f"from the start of the {spec.grain_to_date.value} up to each day"
    elif spec.window is not None:
        span = f"over the {spec.window} up to each day"
    else:
        span = "from the first day up to each day"
    grains = [name for name in plan.dimensions if name.startswith(METRIC_TIME + DUNDER)]
    if grains and grains[0] == f"{METRIC_TIME}{DUNDER}day":
        return f"{planned.name} is a running total {span}."
    period = "period" if grains else "date range"
    return (
        f"{planned.name} is a running total {span}; each row holds its value on the {spec.period_agg.upper()} day "
        f"of the {period} with data, NOT a total of the {period}."
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value
