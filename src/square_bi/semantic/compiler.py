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

Period over period of one fact without a date range is cheaper: the fact is aggregated once and
the result joined to itself (:func:`_offsets_from_one_aggregate`).

Money comes out as whole minor units (:func:`~square_bi.semantic.money.to_minor_units`), followed
by each node's currency code and ``MIN`` / ``MAX`` of its codes' hashes (the code itself, three
times, as a constant where the warehouse proves the node's model is in one currency; no currency
columns at all when it proves all of them in the same one: :mod:`square_bi.semantic.proven_currency`);
:func:`~square_bi.semantic.runner.run_query` refuses rows holding several currencies, scales each
row by its currency (:mod:`square_bi.semantic.money`) and strips those columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlglot import exp

from square_bi.semantic.model import Offset, SemanticLayer, TimeGrain, Unit
from square_bi.semantic.money import to_minor_units
from square_bi.semantic.nodes import node_select
from square_bi.semantic.plan import Leaf, QueryPlan, plan_query
from square_bi.semantic.query import MetricQuery
from square_bi.semantic.resolve import resolve_query
from square_bi.semantic.sql import alias_id, aliased, for_dialect

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


def _shift_is_exact(offset: Offset, grain: TimeGrain | None) -> bool:
    """Each period at ``grain`` maps to exactly one period ``offset`` earlier (not so for months by day)."""
    return grain is not None and (grain is not TimeGrain.DAY or offset.grain in (TimeGrain.DAY, TimeGrain.WEEK))


def _offsets_from_one_aggregate(select: exp.Select, plan: QueryPlan) -> exp.Select | None:
    """Period over period from ONE scan: the plain node (holding every measure the offset nodes
    need) is aggregated once, as ``WITH base``, and each offset node's values are read from the
    row ``offset`` earlier: ``base AS cur LEFT JOIN base AS prev ON prev.time = cur.time - offset``
    and the other keys null-safe equal. Same rows as the general combination (rows only an offset
    node has are dropped there too); used only where that is exact: no start / end (a cut period
    would differ) and periods that map one-to-one."""
    plain = [n for n in plan.nodes if n.key.offset is None and n.key.cumulative is None]
    offsets = [n for n in plan.nodes if n.key.offset is not None and n.key.cumulative is None]
    if len(plain) != 1 or not offsets or len(plain) + len(offsets) != len(plan.nodes):
        return None
    base = plain[0]
    times = [d for d in base.dimensions if d.is_metric_time]
    if plan.start is not None or plan.end is not None or len(times) != 1:
        return None
    if any(n.key.source != base.key.source or n.key.offset is None for n in offsets):
        return None
    if not all(n.key.offset is not None and _shift_is_exact(n.key.offset, times[0].grain) for n in offsets):
        return None
    measures = {leaf.measure.name: leaf.measure for node in (base, *offsets) for leaf in node.leaves}
    merged = dataclasses.replace(base, leaves=[Leaf(name, measure) for name, measure in measures.items()])
    cte = alias_id("base")
    proven = plan.proven_currency(base.source.name)
    base_select = node_select(merged, plan.time_spine, None, None, exact=plan.exact_currencies, proven=proven)
    select.with_(cte, as_=base_select, copy=False)

    def read(table: str, column: str) -> exp.Column:
        return exp.column(exp.to_identifier(column), table=alias_id(table))

    columns: list[exp.Expr] = [read("cur", name) for name in plan.dimensions]
    columns += [read("cur", leaf.column) for leaf in base.leaves]
    if base.currency is not None:
        columns += [read("cur", c) for c in merged.currency_columns]
    combined = exp.select().from_(exp.Table(this=cte.copy(), alias=exp.TableAlias(this=alias_id("cur"))), copy=False)
    for index, node in enumerate(offsets):
        prev = f"prev_{index}"
        columns += [aliased(read(prev, leaf.measure.name), leaf.column) for leaf in node.leaves]
        if node.currency is not None:
            names = zip(merged.currency_columns, node.currency_columns, strict=True)
            columns += [aliased(read(prev, source), name) for source, name in names]
        assert node.key.offset is not None
        shift = node.key.offset
        on: list[exp.Expr] = []
        for dimension in base.dimensions:
            if dimension.is_metric_time:
                earlier = exp.DateAdd(
                    this=read("cur", dimension.name),
                    expression=exp.Literal.number(-shift.count),
                    unit=exp.var(shift.grain.value.upper()),
                )
                # null-safe, as the general combination groups NULL periods together
                shifted = exp.cast(earlier, exp.DataType.Type.DATE)
                on.append(exp.NullSafeEQ(this=read(prev, dimension.name), expression=shifted))
            else:
                on.append(exp.NullSafeEQ(this=read(prev, dimension.name), expression=read("cur", dimension.name)))
        combined = combined.join(
            exp.Table(this=cte.copy(), alias=exp.TableAlias(this=alias_id(prev))),
            on=exp.and_(*on),
            join_type="LEFT",
            copy=False,
        )
    combined = combined.select(*columns, copy=False)
    return select.from_(combined.subquery(alias_id(COMBINED), copy=False), copy=False)


def from_nodes(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """One node: ``FROM (node)``. Several: ``FROM (UNION ALL of the nodes, grouped by the keys)``
    (period over period of one node: :func:`_offsets_from_one_aggregate`)."""
    derived = _offsets_from_one_aggregate(select, plan)
    if derived is not None:
        return derived
    subqueries = [
        node_select(
            node,
            plan.time_spine,
            plan.start,
            plan.end,
            exact=plan.exact_currencies,
            proven=plan.proven_currency(node.source.name),
        )
        for node in plan.nodes
    ]
    if len(subqueries) == 1:
        return select.from_(subqueries[0].subquery(alias_id(plan.nodes[0].alias), copy=False), copy=False)
    values = _value_columns(plan)
    has_offset = any(n.key.offset is not None for n in plan.nodes) and any(n.key.offset is None for n in plan.nodes)
    branches: list[exp.Select] = []
    for index, subquery in enumerate(subqueries):
        columns: list[exp.Expr] = [_id(name) for name in plan.dimensions]
        columns += [_id(c) if i == index else aliased(exp.Null(), c) for i, c in values]
        if has_offset:
            present = 0 if plan.nodes[index].key.offset is not None else 1
            columns.append(aliased(exp.Literal.number(present), PRESENT))
        node_alias = alias_id(plan.nodes[index].alias)
        branches.append(exp.select(*columns, copy=False).from_(subquery.subquery(node_alias, copy=False), copy=False))
    union: exp.Query = branches[0]
    for branch in branches[1:]:
        union = exp.union(union, branch, distinct=False, copy=False)
    combined = exp.select(
        *(_id(name) for name in plan.dimensions),
        *(aliased(exp.Max(this=_id(c)), c) for _, c in values),
        copy=False,
    ).from_(exp.Subquery(this=union, alias=exp.TableAlias(this=alias_id("nodes"))), copy=False)
    if plan.dimensions:
        combined = combined.group_by(*(_id(name) for name in plan.dimensions), copy=False)
    if has_offset:
        combined = combined.having(
            exp.EQ(this=exp.Max(this=_id(PRESENT)), expression=exp.Literal.number(1)), copy=False
        )
    return select.from_(combined.subquery(alias_id(COMBINED), copy=False), copy=False)


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
        column = aliased(value, metric.name)
        if metric.metric.unit is Unit.MONEY and metric.money_measures:
            column.add_comments(["whole minor units (e.g. cents) of the row's currency"])
        columns.append(column)
    return select.select(*columns, copy=False)


def select_currencies(select: exp.Select, plan: QueryPlan) -> exp.Select:
    """Each money node's currency code and ``MIN`` / ``MAX`` of its hashes after the metrics; none
    when the warehouse proves all the money in one currency (the plan knows it)."""
    if plan.one_proven_currency is not None:
        return select
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
    """The tree as ``dialect``'s SQL; the currency hash is that dialect's (:func:`for_dialect`)."""
    return for_dialect(expression, dialect).sql(dialect=dialect, pretty=pretty)
