"""Compile a :class:`MetricQuery` to a sqlglot ``SELECT``, in small passes.

Front end: :func:`~square_bi.semantic.resolve.resolve_query` (names -> layer objects) and
:func:`~square_bi.semantic.plan.plan_query` (nodes: one aggregation per semantic model and kind;
metrics as expressions over their leaves). Back end: :data:`PASSES`, each ``(select, plan) ->
select`` adding one clause, in the manner of sqlglot's optimizer rules. Every name reaches SQL as
an identifier node and every value as a literal node.

Combining nodes: each node is aggregated on its own at the query grain (so one fact's rows can
never multiply another's: no fan-out, no chasm trap), then the nodes are combined on the group-by
keys as a null-safe full outer join, written portably as ``UNION ALL`` of the nodes (each padded
with NULL for the others' columns) and ``GROUP BY`` the keys with ``MAX`` of each column (each
column is non-NULL in at most one branch per key). Rows only an offset node has (the period after
the data ends) are dropped. Ratio and derived metrics are computed on the combined row.

Money comes out as whole minor units (``DECIMAL(38, 0)``), followed by each node's ``MIN`` / ``MAX``
currency; :func:`~square_bi.semantic.runner.run_query` refuses rows holding several currencies,
scales each row by its currency (:mod:`square_bi.semantic.money`) and strips those columns.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from square_bi.semantic.model import SemanticLayer, Unit
from square_bi.semantic.money import to_minor_units
from square_bi.semantic.nodes import node_select
from square_bi.semantic.plan import QueryPlan, plan_query
from square_bi.semantic.query import MetricQuery
from square_bi.semantic.resolve import resolve_query
from square_bi.semantic.sql import alias_id

__all__ = ["PASSES", "SelectPass", "build_select", "compile_query", "to_sql"]

SelectPass = Callable[[exp.Select, QueryPlan], exp.Select]
COMBINED = "combined"
PRESENT = "__present"


def _id(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name))


def _value_columns(plan: QueryPlan) -> list[tuple[int, str]]:
    """(node index, column) of every leaf and currency column, in a fixed order."""
    found = []
    for index, node in enumerate(plan.nodes):
        found += [(index, leaf.column) for leaf in node.leaves]
        if node.currency is not None:
            found += [(index, column) for column in node.currency_columns]
    return found


def from_nodes(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """One node: ``FROM (node)``. Several: ``FROM (UNION ALL of the nodes, grouped by the keys)``."""
    subqueries = [node_select(node, plan.time_spine, plan.start, plan.end) for node in plan.nodes]
    if len(subqueries) == 1:
        return select.from_(subqueries[0].subquery(alias_id(plan.nodes[0].alias)), copy=False)
    values = _value_columns(plan)
    has_offset = any(n.key.offset is not None for n in plan.nodes) and any(n.key.offset is None for n in plan.nodes)
    branches: list[exp.Select] = []
    for index, subquery in enumerate(subqueries):
        columns: list[exp.Expr] = [_id(name) for name in plan.dimensions]
        columns += [_id(c) if i == index else exp.alias_(exp.Null(), c) for i, c in values]
        if has_offset:
            present = 0 if plan.nodes[index].key.offset is not None else 1
            columns.append(exp.alias_(exp.Literal.number(present), PRESENT))
        branches.append(exp.select(*columns).from_(subquery.subquery(alias_id(plan.nodes[index].alias))))
    union: exp.Query = branches[0]
    for branch in branches[1:]:
        union = exp.union(union, branch, distinct=False)
    combined = exp.select(
        *(_id(name) for name in plan.dimensions),
        *(exp.alias_(exp.Max(this=_id(c)), c) for _, c in values),
    ).from_(exp.Subquery(this=union, alias=exp.TableAlias(this=alias_id("nodes"))))
    if plan.dimensions:
        combined = combined.group_by(*(_id(name) for name in plan.dimensions))
    if has_offset:
        combined = combined.having(exp.EQ(this=exp.Max(this=_id(PRESENT)), expression=exp.Literal.number(1)))
    return select.from_(combined.subquery(alias_id(COMBINED)), copy=False)


def select_dimensions(select: exp.Select, plan: QueryPlan) -> exp.Select:
    columns = [_id(name) for name in plan.dimensions]
    return select.select(*columns, copy=False) if columns else select


def select_metrics(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """One column per metric; money in whole minor units, said so in a comment next to it."""
    columns = []
    for metric in plan.metrics:
        value = metric.expression.copy()
        if metric.metric.unit is Unit.MONEY and not isinstance(value, exp.Column):
            value = to_minor_units(value)
        column = exp.alias_(value, metric.name)
        if metric.metric.unit is Unit.MONEY and metric.money_measures:
            column.add_comments(["whole minor units (e.g. cents) of the row's currency"])
        columns.append(column)
    return select.select(*columns, copy=False)


def select_currencies(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """Each money node's ``MIN`` / ``MAX`` currency after the metrics: one currency when all equal."""
    columns = [_id(c) for node in plan.nodes if node.currency is not None for c in node.currency_columns]
    return select.select(*columns, copy=False) if columns else select


def order_rows(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """The requested order, then every group-by ascending, so results (and LIMIT) are stable."""
    ordered = [(o.name, o.descending) for o in plan.order_by]
    named = {name for name, _ in ordered}
    ordered += [(name, False) for name in plan.dimensions if name not in named]
    keys = [exp.Ordered(this=_id(n), desc=desc, nulls_first=False) for n, desc in ordered]
    return select.order_by(*keys, copy=False) if keys else select


def limit_rows(select: exp.Select, plan: QueryPlan) -> exp.Select:
    return select.limit(exp.Literal.number(plan.limit), copy=False) if plan.limit is not None else select


PASSES: tuple[SelectPass, ...] = (
    from_nodes,
    select_dimensions,
    select_metrics,
    select_currencies,
    order_rows,
    limit_rows,
)


def build_select(plan: QueryPlan, passes: tuple[SelectPass, ...] = PASSES) -> exp.Select:
    select = exp.Select()
    for compile_pass in passes:
        select = compile_pass(select, plan)
    return select


def compile_query(layer: SemanticLayer, query: MetricQuery) -> exp.Select:
    """The query as a sqlglot tree; raises :class:`SemanticError` for any unknown name first.

    Money columns are whole minor units followed by each node's currency (see the module
    docstring); :func:`~square_bi.semantic.runner.run_query` turns them into major units.
    """
    return build_select(plan_query(layer, resolve_query(layer, query)))


def to_sql(expression: exp.Expr, dialect: str = "duckdb", *, pretty: bool = False) -> str:
    return expression.sql(dialect=dialect, pretty=pretty)
