"""Differential test: our compiler against MetricFlow (the reference engine) on the same YAML and data.

MetricFlow 0.213 runs in-process (:mod:`metricflow_oracle`: no dbt-core) over the manifest our
own loader validates from ``semantic/``, on the same DuckDB connection. Each case is one query in
both languages: ours with structured :class:`Filter` objects, MetricFlow's with Jinja where
strings (written out by hand, not translated, so a filter bug cannot hide on both sides). Filter
values and dates come from the warehouse itself, so the battery runs unchanged on

- ``star``: the hand-made star of ``conftest.py`` (USD; return-only orders, custom amounts with no
  item, OPEN and CANCELED orders carrying tips that no metric may count);
- ``demo``: a demo merchant synced through the product's real pipeline (three shops in USD and
  GBP, about 9,000 lines over 120 days across three quarters and a year boundary).

Comparison: columns are aligned by name (both use ``metric_time__week``, ``location__name``, ...);
rows by their group-by values (MetricFlow's timestamps as dates). Money: MetricFlow answers the
measure's own unit, whole minor units, so its value is scaled by the row's currency's digits
(:func:`minor_unit_digits`) and must equal our Decimal exactly; a money ratio (average order
value) we round to a whole minor unit, so it must be within half a minor unit of MetricFlow's
float. Other ratios compare as floats with a relative tolerance of 1e-9; counts exactly.

Cumulative ``period_agg``: MetricFlow's default is ``first``, ours ``last``; the YAML says
``period_agg: last`` explicitly, MetricFlow honours it, so week and month grains are compared as
they are.

Where MetricFlow and we legitimately differ, the case says so and the difference is excluded
explicitly, never silently:

- ``OFFSET_ONLY``: for a metric with an offset input (week over week) MetricFlow also reports the
  rows where only the week before has data (a quiet day of a shop inside the data, the week after
  the data ends), every metric NULL; we leave them out. Those MetricFlow rows are dropped after
  checking that all their values are NULL.
- ``AFTER_DATA``: for a cumulative metric MetricFlow also reports the days after the last day with
  data, out to the end of the time spine (the running total repeats); we stop at the last day with
  data. Those MetricFlow rows are dropped after checking that they lie after our last period.
- Money over several currencies: MetricFlow adds up dollars and pounds; we refuse
  (:func:`test_we_refuse_what_metricflow_adds_across_currencies`), so money cases on ``demo``
  group by a dimension that separates currencies.
- A ``start``/``end`` range that cuts a period: MetricFlow widens the range to whole periods of
  the query's grain; we keep exactly the days asked for (a cut period holds only its days inside
  the range). Ranges are compared at day grain, or aligned to whole months at month grain
  (:func:`test_metricflow_widens_a_cut_range_to_whole_periods` pins the difference).
- A where filter on ``metric_time`` for an offset or cumulative metric: we refuse (it would cut
  the inputs from other periods, use start/end); MetricFlow accepts. Not compared.
- An offset that does not shift whole periods of the grain (week over week by month): MetricFlow
  answers with months compared against week-shifted days; we refuse
  (:func:`test_we_refuse_an_offset_that_does_not_shift_whole_periods`).
"""

from __future__ import annotations

import datetime as dt
import math
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from metricflow.engine.metricflow_engine import MetricFlowEngine
from metricflow_semantics.errors.error_classes import InvalidQueryException

from shop_support import DEMO_TOKEN, run_sync
from square_bi.errors import SemanticError
from square_bi.semantic import (
    MetricQuery,
    QueryResult,
    SemanticLayer,
    SemanticQueryError,
    UnsupportedQueryError,
    run_query,
)
from square_bi.semantic.model import Unit
from square_bi.semantic.money import minor_unit_digits
from square_bi.square.demo import DemoConfig, DemoServer, generate

from .conftest import build_star_schema
from .metricflow_oracle import MetricFlowQueryRequest, metricflow_engine

DEMO = DemoConfig(seed=7, days=120, locations=3, orders_per_day=40, anchor=dt.datetime(2026, 1, 20, tzinfo=dt.UTC))
MONEY_RATIO_TOLERANCE = Decimal("0.5")  # minor units: ours is MetricFlow's value rounded to a whole one
FLOAT_RELATIVE_TOLERANCE = 1e-9


# -- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """One filter in both languages; ``$placeholders`` are filled from :class:`Values`."""

    dimension: str
    op: str
    value: str | int | None = None
    values: tuple[str | int, ...] | None = None
    metricflow: str = ""


@dataclass(frozen=True)
class Case:
    id: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...] = ()
    where: tuple[Where, ...] = ()
    start: str | None = None
    end: str | None = None
    order_by: tuple[str, ...] = ()
    limit: int | None = None
    extras: bool = False
    """MetricFlow's extra rows are dropped, checked (OFFSET_ONLY and AFTER_DATA in the docstring)."""


def W(dimension: str, op: str, metricflow: str, value: Any = None, values: Sequence[Any] | None = None) -> Where:
    return Where(dimension, op, value, tuple(values) if values is not None else None, metricflow)


def dim(name: str) -> str:
    return "{{ Dimension('" + name + "') }}"


def time_dim(grain: str) -> str:
    return "{{ TimeDimension('metric_time', '" + grain + "') }}"


CASES: tuple[Case, ...] = (
    # simple metrics, every grain
    Case("day_currency", ("gross_sales", "order_count"), ("metric_time__day", "order_line_item__currency")),
    Case("week_location", ("net_sales", "items_sold"), ("metric_time__week", "location__name")),
    Case("month_location", ("discounts", "taxes"), ("metric_time__month", "location__name")),
    Case("quarter_currency", ("returns", "unique_customers"), ("metric_time__quarter", "order_line_item__currency")),
    Case("year_location", ("gross_sales", "returns", "net_sales"), ("metric_time__year", "location__name")),
    Case("totals_counts", ("order_count", "items_sold", "unique_customers")),
    Case("order_fact_week", ("tips", "processing_fees"), ("metric_time__week", "location__name")),
    Case("order_fact_quarter", ("tips",), ("metric_time__quarter", "order__currency")),
    # dimensions of the item, the order and the line itself
    Case("item_category", ("order_count", "items_sold"), ("item__category",)),
    Case("item_name_location", ("gross_sales", "items_sold"), ("item__name", "location__name")),
    Case("item_variation", ("items_sold",), ("item__name", "item__variation_name")),
    Case("line_item_type", ("items_sold", "order_count"), ("order_line_item__item_type",)),
    Case("order_source_from_lines", ("net_sales",), ("order__source", "location__name")),
    Case("order_source_two_facts", ("order_count", "tips"), ("order__source", "location__name")),
    Case("order_hour", ("order_count",), ("order__hour_of_day",)),
    Case("order_day_of_week", ("net_sales", "tips"), ("order__day_of_week", "location__name")),
    Case("location_city_status", ("items_sold",), ("location__city", "location__status")),
    # two facts, derived across them
    Case("two_facts_location", ("gross_sales", "tips", "order_count"), ("location__name",)),
    Case("derived_total_collected", ("total_collected",), ("location__name", "metric_time__month")),
    # ratios
    Case("aov_location", ("average_order_value",), ("location__name",)),
    Case("items_per_order_week", ("items_per_order",), ("metric_time__week",)),
    Case("discount_rate_month", ("discount_rate",), ("metric_time__month", "location__name")),
    Case("ratios_category", ("average_order_value", "items_per_order"), ("item__category", "location__name")),
    # derived with an offset window
    Case("wow_week", ("net_sales_week_over_week",), ("metric_time__week", "location__name"), extras=True),
    Case("wow_day", ("net_sales_week_over_week", "net_sales"), ("metric_time__day", "location__name"), extras=True),
    Case(
        "wow_week_filtered",
        ("net_sales_week_over_week",),
        ("metric_time__week",),
        where=(W("location__name", "=", dim("location__name") + " = '$location'", "$location"),),
        extras=True,
    ),
    # cumulative grain-to-date (period_agg last)
    Case("mtd_day", ("net_sales_month_to_date",), ("metric_time__day", "location__name"), extras=True),
    Case("mtd_week", ("net_sales_month_to_date",), ("metric_time__week", "location__name"), extras=True),
    Case("mtd_month", ("net_sales_month_to_date", "net_sales"), ("metric_time__month", "location__name"), extras=True),
    Case(
        "mtd_day_range",
        ("net_sales_month_to_date",),
        ("metric_time__day", "location__name"),
        start="$start",
        end="$end",
    ),
    Case(
        "mtd_day_from_start",
        ("net_sales_month_to_date",),
        ("metric_time__day", "order_line_item__currency"),
        start="$start",
        extras=True,
    ),
    Case("mtd_quarter", ("net_sales_month_to_date",), ("metric_time__quarter", "location__name"), extras=True),
    Case(
        "mtd_week_filtered",
        ("net_sales_month_to_date",),
        ("metric_time__week", "location__name"),
        where=(W("order__source", "=", dim("order__source") + " = '$source'", "$source"),),
        extras=True,
    ),
    Case(
        "wow_whole_weeks",
        ("net_sales_week_over_week", "net_sales"),
        ("metric_time__week", "order_line_item__currency"),
        start="$monday",
        end="$sunday",
        extras=True,
    ),
    # filters, every operator
    Case(
        "filter_eq_location",
        ("net_sales", "order_count"),
        ("metric_time__week",),
        where=(W("location__name", "=", dim("location__name") + " = '$location'", "$location"),),
    ),
    Case(
        "filter_in_category",
        ("order_count", "gross_sales"),
        ("location__name",),
        where=(
            W(
                "item__category",
                "in",
                dim("item__category") + " IN ('$category', '$other_category')",
                values=("$category", "$other_category"),
            ),
        ),
    ),
    Case(
        "filter_not_in_category",
        ("items_sold",),
        ("item__category",),
        where=(W("item__category", "not_in", dim("item__category") + " NOT IN ('$category')", values=("$category",)),),
    ),
    Case(
        "filter_ne_source",
        ("items_sold",),
        ("item__category",),
        where=(W("order__source", "!=", dim("order__source") + " != '$source'", "$source"),),
    ),
    Case(
        "filter_day_gte",
        ("gross_sales",),
        ("metric_time__day", "location__name"),
        where=(W("metric_time__day", ">=", time_dim("day") + " >= '$day'", "$day"),),
    ),
    Case(
        "filter_month_between",
        ("net_sales", "tips"),
        ("metric_time__month", "location__name"),
        where=(
            W(
                "metric_time__month",
                "between",
                time_dim("month") + " BETWEEN '$first_month' AND '$month'",
                values=("$first_month", "$month"),
            ),
        ),
    ),
    Case(
        "filter_is_null_item",
        ("gross_sales", "order_count"),
        ("location__name",),
        where=(W("item__category", "is_null", dim("item__category") + " IS NULL"),),
    ),
    Case(
        "filter_is_not_null_item",
        ("items_sold",),
        ("location__name",),
        where=(W("item__name", "is_not_null", dim("item__name") + " IS NOT NULL"),),
    ),
    Case(
        "filter_like_location",
        ("order_count",),
        ("location__name",),
        where=(W("location__name", "like", dim("location__name") + " LIKE '$location_prefix%'", "$location_prefix%"),),
    ),
    Case(
        "filter_hour_lt",
        ("order_count", "tips"),
        ("location__name",),
        where=(W("order__hour_of_day", "<", dim("order__hour_of_day") + " < 12", 12),),
    ),
    Case(
        "filter_order_state_two_facts",
        ("tips", "order_count"),
        ("location__name",),
        where=(W("order__state", "=", dim("order__state") + " = 'COMPLETED'", "COMPLETED"),),
    ),
    Case(
        "filter_two_and_not_grouped",
        ("net_sales", "tips"),
        ("metric_time__week", "location__name"),
        where=(
            W("order__source", "=", dim("order__source") + " = '$source'", "$source"),
            W("order__day_of_week", ">=", dim("order__day_of_week") + " >= 6", 6),
        ),
    ),
    Case(
        "filter_week_eq",
        ("items_sold", "discount_rate"),
        ("location__name", "order_line_item__is_return"),
        where=(W("metric_time__week", "=", time_dim("week") + " = '$monday'", "$monday"),),
    ),
    Case(
        "filter_derived_two_facts",
        ("total_collected", "average_order_value"),
        ("metric_time__month", "location__name"),
        where=(W("order__source", "!=", dim("order__source") + " != '$source'", "$source"),),
    ),
    # date ranges (day grain, or whole months at month grain) and ordering
    Case("range_day", ("gross_sales", "tips"), ("metric_time__day", "location__name"), start="$start", end="$end"),
    Case(
        "range_whole_months",
        ("net_sales", "order_count"),
        ("metric_time__month", "location__name"),
        start="$first_month",
        end="$month_end",
    ),
    Case(
        "order_by_limit",
        ("net_sales",),
        ("item__name", "location__name"),
        order_by=("-net_sales",),
        limit=5,
    ),
)


# -- the warehouses --------------------------------------------------------------------------


@dataclass(frozen=True)
class Warehouse:
    connection: duckdb.DuckDBPyConnection
    engine: MetricFlowEngine
    values: Mapping[str, str] = field(default_factory=dict)


def _values(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Filter values and dates the cases use, taken from the data so both warehouses fit."""
    dates = "SELECT MIN(business_date), MAX(business_date) FROM fct_order_line_item"
    first, last = connection.execute(dates).fetchone() or (None, None)
    (location,) = connection.execute("SELECT MIN(name) FROM dim_location").fetchone()
    (source,) = connection.execute("SELECT MIN(order_source) FROM fct_order").fetchone()
    categories = [r[0] for r in connection.execute("SELECT DISTINCT category_name FROM dim_item ORDER BY 1").fetchall()]
    middle = first + (last - first) / 2
    first_month = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    month = middle.replace(day=1)
    monday = first + dt.timedelta(days=7 - first.weekday() + 7)
    month_end = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return {
        "location": location,
        "location_prefix": location[:2],
        "source": source,
        "category": categories[0],
        "other_category": categories[-1],
        "day": middle.isoformat(),
        "start": (first + dt.timedelta(days=9)).isoformat(),
        "end": (last - dt.timedelta(days=6)).isoformat(),
        "first_month": first_month.isoformat(),
        "month": month.isoformat(),
        "month_end": month_end.isoformat(),
        "monday": monday.isoformat(),
        "sunday": (last - dt.timedelta(days=last.isoweekday() % 7 + 7)).isoformat(),
    }


def _warehouse(connection: duckdb.DuckDBPyConnection) -> Warehouse:
    return Warehouse(connection, metricflow_engine(connection), _values(connection))


@pytest.fixture(scope="module")
def star() -> Iterator[Warehouse]:
    connection = build_star_schema(duckdb.connect(":memory:"))
    yield _warehouse(connection)
    connection.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    db = tmp_path_factory.mktemp("metricflow") / "shop.duckdb"
    with DemoServer(generate(DEMO), access_token=DEMO_TOKEN) as server:
        result = run_sync(server.base_url, db)
    assert result.report.ok, result.report.failed
    connection = duckdb.connect(str(Path(db)), read_only=True)
    yield _warehouse(connection)
    connection.close()


@pytest.fixture(params=["star", "demo"])
def warehouse_under_test(request: pytest.FixtureRequest) -> Warehouse:
    return request.getfixturevalue(request.param)


# -- running both ----------------------------------------------------------------------------


def _fill(text: Any, values: Mapping[str, str]) -> Any:
    return string.Template(text).substitute(values) if isinstance(text, str) else text


def our_query(case: Case, values: Mapping[str, str]) -> MetricQuery:
    where = []
    for w in case.where:
        value = _fill(w.value, values)
        many = [_fill(v, values) for v in w.values] if w.values is not None else None
        if w.dimension.startswith("metric_time__"):
            value = dt.date.fromisoformat(value) if value is not None else None
            many = [dt.date.fromisoformat(v) for v in many] if many is not None else None
        where.append({"dimension": w.dimension, "op": w.op, "value": value, "values": many})
    return MetricQuery.model_validate(
        {
            "metrics": list(case.metrics),
            "group_by": list(case.group_by),
            "where": where,
            "start": _fill(case.start, values),
            "end": _fill(case.end, values),
            "order_by": list(case.order_by),
            "limit": case.limit,
        }
    )


def their_request(case: Case, values: Mapping[str, str]) -> MetricFlowQueryRequest:
    start, end = _fill(case.start, values), _fill(case.end, values)
    return MetricFlowQueryRequest.create(
        metric_names=list(case.metrics),
        group_by_names=list(case.group_by),
        where_constraints=[_fill(w.metricflow, values) for w in case.where] or None,
        time_constraint_start=dt.datetime.fromisoformat(start) if start else None,
        time_constraint_end=dt.datetime.fromisoformat(end) if end else None,
        order_by_names=list(case.order_by) or None,
        limit=case.limit,
    )


def _key_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


Rows = dict[tuple[Any, ...], dict[str, Any]]


def our_rows(result: QueryResult, case: Case) -> tuple[Rows, dict[tuple[Any, ...], str | None]]:
    """Rows by group-by values, and each row's currency (for scaling MetricFlow's minor units)."""
    single = next((m.currency for m in result.metrics if m.currency is not None), None)
    rows: Rows = {}
    currencies: dict[tuple[Any, ...], str | None] = {}
    width = len(case.group_by)
    for row in result.rows:
        named = dict(zip(result.columns, row, strict=True))
        key = tuple(_key_value(v) for v in row[:width])
        assert key not in rows, f"duplicate row {key}"
        rows[key] = {m: named[m] for m in case.metrics}
        currencies[key] = named.get("currency") or _grouped_currency(named) or single
    return rows, currencies


def _grouped_currency(named: Mapping[str, Any]) -> str | None:
    return named.get("order_line_item__currency") or named.get("order__currency")


def their_rows(table: Any, case: Case) -> Rows:
    columns = list(table.column_names)
    assert sorted(columns) == sorted([*case.group_by, *case.metrics]), columns
    rows: Rows = {}
    for row in table.rows:
        named = dict(zip(columns, row, strict=True))
        key = tuple(_key_value(named[g]) for g in case.group_by)
        assert key not in rows, f"MetricFlow returned {key} twice"
        rows[key] = {m: named[m] for m in case.metrics}
    return rows


def same_value(layer: SemanticLayer, metric: str, ours: Any, theirs: Any, currency: str | None) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if layer.metric(metric).unit is Unit.MONEY:
        digits = minor_unit_digits(currency)
        if isinstance(theirs, float):  # a ratio: ours is rounded to a whole minor unit
            return abs(Decimal(ours).scaleb(digits) - Decimal(theirs)) <= MONEY_RATIO_TOLERANCE
        return Decimal(theirs).scaleb(-digits) == ours
    if isinstance(ours, float) or isinstance(theirs, float):
        return math.isclose(float(ours), float(theirs), rel_tol=FLOAT_RELATIVE_TOLERANCE, abs_tol=1e-12)
    return Decimal(ours) == Decimal(theirs)


def drop_metricflow_extras(case: Case, ours: Rows, theirs: Rows, layer: SemanticLayer) -> Rows:
    """MetricFlow's rows that we leave out by design (OFFSET_ONLY, AFTER_DATA), checked before dropping."""
    offsets = any(i.offset for m in case.metrics for i in layer.metric(m).inputs)
    index = next(i for i, g in enumerate(case.group_by) if g.startswith("metric_time__"))
    last = max(key[index] for key in ours)
    kept: Rows = {}
    for key, values in theirs.items():
        if key in ours:
            kept[key] = values
        elif offsets:
            assert all(v is None for v in values.values()), f"{key}: {values}"
        elif key[index] <= last:
            kept[key] = values
    return kept


def compare(case: Case, layer: SemanticLayer, result: QueryResult, table: Any) -> list[str]:
    ours, currencies = our_rows(result, case)
    theirs = their_rows(table, case)
    if case.extras and ours:
        theirs = drop_metricflow_extras(case, ours, theirs, layer)
    problems = [f"only ours: {k} {ours[k]}" for k in ours.keys() - theirs.keys()]
    problems += [f"only MetricFlow: {k} {theirs[k]}" for k in theirs.keys() - ours.keys()]
    for key in ours.keys() & theirs.keys():
        for metric in case.metrics:
            a, b = ours[key][metric], theirs[key][metric]
            if not same_value(layer, metric, a, b, currencies[key]):
                problems.append(f"$key {metric}: ours {a!r}, MetricFlow {b!r} ({currencies[key]})")
    if case.order_by:
        order = [tuple(_key_value(v) for v in row[: len(case.group_by)]) for row in result.rows]
        their_order = [tuple(_key_value(row[table.column_names.index(g)]) for g in case.group_by) for row in table.rows]
        if order != their_order:
            problems.append(f"order: ours {order}, MetricFlow {their_order}")
    return sorted(problems)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answer_as_metricflow(case: Case, warehouse_under_test: Warehouse, semantic_layer: SemanticLayer) -> None:
    values = warehouse_under_test.values
    result = run_query(warehouse_under_test.connection, semantic_layer, our_query(case, values))
    table = warehouse_under_test.engine.query(their_request(case, values)).result_df
    assert table is not None
    assert result.rows, "a case that returns nothing compares nothing"
    problems = compare(case, semantic_layer, result, table)
    assert problems == [], "\n".join(problems[:20])


def test_battery_is_broad() -> None:
    """At least 30 queries over every metric type, grain and filter operator."""
    assert len(CASES) >= 30
    grains = {g.split("__")[1] for c in CASES for g in c.group_by if g.startswith("metric_time__")}
    assert grains == {"day", "week", "month", "quarter", "year"}
    ops = {w.op for c in CASES for w in c.where}
    assert ops >= {"=", "!=", "in", "not_in", ">=", "<", "between", "is_null", "is_not_null", "like"}


def test_the_comparison_sees_one_cent(star: Warehouse, semantic_layer: SemanticLayer) -> None:
    """The harness itself: one cent more in one row, or a row missing, is reported."""
    case = next(c for c in CASES if c.id == "two_facts_location")
    result = run_query(star.connection, semantic_layer, our_query(case, star.values))
    table = star.engine.query(their_request(case, star.values)).result_df
    assert compare(case, semantic_layer, result, table) == []
    column = result.columns.index("tips")
    result.rows[0][column] += Decimal("0.01")
    assert len(compare(case, semantic_layer, result, table)) == 1
    del result.rows[0]
    assert [p.split(":")[0] for p in compare(case, semantic_layer, result, table)] == ["only MetricFlow"]


# -- the explicit differences ----------------------------------------------------------------


def test_we_refuse_what_metricflow_adds_across_currencies(demo: Warehouse, semantic_layer: SemanticLayer) -> None:
    """Weeks alone mix the USD and GBP shops: MetricFlow adds cents and pence, we refuse."""
    case = Case("mixed", ("gross_sales",), ("metric_time__week",))
    table = demo.engine.query(their_request(case, demo.values)).result_df
    assert table is not None and table.row_count > 0
    with pytest.raises(SemanticQueryError, match="different currencies"):
        run_query(demo.connection, semantic_layer, our_query(case, demo.values))


def test_metricflow_widens_a_cut_range_to_whole_periods(star: Warehouse, semantic_layer: SemanticLayer) -> None:
    """start 2024-03-05 by week: MetricFlow counts the whole week of 03-04, we only 03-05 on."""
    case = Case("cut", ("order_count",), ("metric_time__week",), start="2024-03-05", end="2024-03-24")
    ours, _ = our_rows(run_query(star.connection, semantic_layer, our_query(case, {})), case)
    table = star.engine.query(their_request(case, {})).result_df
    theirs = their_rows(table, case)
    week = (dt.date(2024, 3, 4),)
    assert ours[week]["order_count"] == 4  # O9..O12: 03-05 to 03-08
    assert theirs[week]["order_count"] == 5  # O8 on Monday 03-04 too
    assert {k: v for k, v in ours.items() if k != week} == {k: v for k, v in theirs.items() if k != week}


@pytest.mark.parametrize(
    ("metrics", "group_by"),
    [(("tips",), ("item__category",)), (("net_sales_week_over_week",), ("location__name",))],
    ids=["unreachable_dimension", "offset_without_metric_time"],
)
def test_both_refuse(
    metrics: tuple[str, ...], group_by: tuple[str, ...], star: Warehouse, semantic_layer: SemanticLayer
) -> None:
    """Orders have no item; an offset needs periods: neither engine answers."""
    case = Case("refused", metrics, group_by)
    with pytest.raises(SemanticError):
        run_query(star.connection, semantic_layer, our_query(case, star.values))
    with pytest.raises(InvalidQueryException):
        star.engine.query(their_request(case, star.values))


def test_we_refuse_an_offset_that_does_not_shift_whole_periods(star: Warehouse, semantic_layer: SemanticLayer) -> None:
    """Week over week by month: MetricFlow compares each month with the days one week earlier
    summed into months (a period that is no month); we refuse and name the grains that fit."""
    case = Case("wow_month", ("net_sales_week_over_week",), ("metric_time__month",))
    table = star.engine.query(their_request(case, star.values)).result_df
    assert table is not None and table.row_count > 0
    with pytest.raises(UnsupportedQueryError, match="metric_time__day, metric_time__week"):
        run_query(star.connection, semantic_layer, our_query(case, star.values))
