"""Compile a :class:`MetricQuery` to a sqlglot ``SELECT``, in small passes.

Front end (:mod:`plan`): ``resolve_query`` (names -> layer objects) and ``plan_query`` (source,
joins, columns). Back end: :data:`PASSES`, each ``(select, plan) -> select`` adding one clause,
in the manner of sqlglot's optimizer rules. Every name reaches SQL as an identifier node and
every value as a literal node; YAML ``expr`` snippets arrive as parsed, qualified trees.

Money metrics come out of SQL as whole minor units (``CAST(SUM(x) AS DECIMAL(38, 0))``, commented
as such in the SQL), followed by trailing ``MIN`` / ``MAX`` columns of each group's currency;
:func:`~square_bi.semantic.runner.run_query` refuses groups holding several currencies, scales each
row by its own currency (:mod:`square_bi.semantic.money`) and strips those columns.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from square_bi.semantic.model import SemanticLayer, Unit
from square_bi.semantic.plan import PlannedDimension, QueryPlan, plan_query, resolve_query
from square_bi.semantic.query import MetricQuery
from square_bi.semantic.sql import aggregate, qualify, table, truncate_to_grain

__all__ = ["PASSES", "SelectPass", "build_select", "compile_query", "to_sql"]

SelectPass = Callable[[exp.Select, QueryPlan], exp.Select]


def from_source(select: exp.Select, plan: QueryPlan) -> exp.Select:
    return select.from_(table(plan.source, plan.source_alias), copy=False)


def join_dimension_tables(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """One LEFT JOIN per planned join (many-to-one, so rows are never multiplied)."""
    for join in plan.joins:
        on = exp.EQ(
            this=qualify(join.left.expr, join.left_alias),
            expression=qualify(join.right.expr, join.alias),
        )
        select.append("joins", exp.Join(this=table(join.model, join.alias), side="LEFT", on=on))
    return select


def select_dimensions(select: exp.Select, plan: QueryPlan) -> exp.Select:
    columns = [exp.alias_(_dimension_expression(d), d.name) for d in plan.dimensions]
    return select.select(*columns, copy=False) if columns else select


def select_metrics(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """One column per metric; money in whole minor units, said so in a comment next to it."""
    minimum = {c.dimension.name: c.min_name for c in plan.currencies}
    columns = []
    for metric in plan.metrics:
        column = exp.alias_(aggregate(metric.measure, metric.table_alias), metric.name)
        currency = metric.measure.currency_dimension
        if metric.measure.unit is Unit.MONEY and currency in minimum:
            column.add_comments([f"whole minor units (e.g. cents) of the currency in {minimum[currency]}"])
        columns.append(column)
    return select.select(*columns, copy=False)


def select_currencies(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """``MIN(currency), MAX(currency)`` per group after the metrics: one currency when equal."""
    columns = []
    for currency in plan.currencies:
        column = qualify(currency.dimension.expr, currency.table_alias)
        columns.append(exp.alias_(exp.Min(this=column), currency.min_name))
        columns.append(exp.alias_(exp.Max(this=column.copy()), currency.max_name))
    return select.select(*columns, copy=False) if columns else select


def group_by_dimensions(select: exp.Select, plan: QueryPlan) -> exp.Select:
    keys = [_dimension_expression(d) for d in plan.dimensions]
    return select.group_by(*keys, copy=False) if keys else select


def order_rows(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """The requested order, then every group-by ascending, so results (and LIMIT) are stable."""
    ordered = [(o.name, o.descending) for o in plan.order_by]
    named = {name for name, _ in ordered}
    ordered += [(d.name, False) for d in plan.dimensions if d.name not in named]
    keys = [exp.Ordered(this=exp.column(exp.to_identifier(n)), desc=desc, nulls_first=False) for n, desc in ordered]
    return select.order_by(*keys, copy=False) if keys else select


def limit_rows(select: exp.Select, plan: QueryPlan) -> exp.Select:
    return select.limit(exp.Literal.number(plan.limit), copy=False) if plan.limit is not None else select


PASSES: tuple[SelectPass, ...] = (
    from_source,
    join_dimension_tables,
    select_dimensions,
    select_metrics,
    select_currencies,
    group_by_dimensions,
    order_rows,
    limit_rows,
)


def _dimension_expression(dimension: PlannedDimension) -> exp.Expr:
    column = qualify(dimension.dimension.expr, dimension.table_alias)
    return truncate_to_grain(column, dimension.grain, dimension.dimension.time_granularity)


def build_select(plan: QueryPlan, passes: tuple[SelectPass, ...] = PASSES) -> exp.Select:
    select = exp.Select()
    for compile_pass in passes:
        select = compile_pass(select, plan)
    return select


def compile_query(layer: SemanticLayer, query: MetricQuery) -> exp.Select:
    """The query as a sqlglot tree; raises :class:`SemanticError` for any unknown name first.

    Money columns are whole minor units followed by each group's currency (see the module
    docstring); :func:`~square_bi.semantic.runner.run_query` turns them into major units.
    """
    resolved = resolve_query(layer, query)
    return build_select(plan_query(layer, resolved))


def to_sql(expression: exp.Expr, dialect: str = "duckdb", *, pretty: bool = False) -> str:
    return expression.sql(dialect=dialect, pretty=pretty)
