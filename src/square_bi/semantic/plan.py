"""The compiler's plan: which aggregations (nodes) a resolved query needs, and how metrics combine.

Every metric is lowered to an expression over *leaves*: one aggregated measure each, computed in
a *node*. A node aggregates one semantic model's rows (with only the joins its group-bys and
filters need) at the query grain; nodes are keyed by (source model, offset window, cumulative
spec), so measures of different facts are aggregated separately and can never fan each other out.
The compiler then combines the nodes on the group-by keys (a null-safe full outer join) and
computes ratio and derived metrics from the combined row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlglot import exp

from square_bi.semantic.errors import UnsupportedQueryError
from square_bi.semantic.model import (
    DUNDER,
    METRIC_TIME,
    AggregationType,
    Cumulative,
    Dimension,
    DimensionGroupBy,
    Entity,
    GroupBy,
    Measure,
    Metric,
    MetricTimeGroupBy,
    MetricType,
    Offset,
    SemanticLayer,
    SemanticModel,
    TimeGrain,
    TimeSpine,
    Unit,
)
from square_bi.semantic.query import Filter
from square_bi.semantic.resolve import OrderBy, ResolvedQuery

__all__ = [
    "Leaf",
    "Node",
    "NodeKey",
    "PlannedDimension",
    "PlannedFilter",
    "PlannedJoin",
    "PlannedMetric",
    "QueryPlan",
    "plan_query",
]

_ADDITIVE = (AggregationType.SUM, AggregationType.COUNT, AggregationType.SUM_BOOLEAN)


@dataclass(frozen=True)
class NodeKey:
    source: str
    offset: Offset | None = None
    cumulative: Cumulative | None = None

    @property
    def tag(self) -> str:
        """Suffix naming this kind of aggregation: ``""``, ``offset_1_week``, ``to_date_month_last``."""
        parts = []
        if self.offset is not None:
            parts.append(f"offset_{self.offset.count}_{self.offset.grain.value}")
        if self.cumulative is not None:
            spec = self.cumulative
            if spec.grain_to_date is not None:
                parts.append(f"to_date_{spec.grain_to_date.value}")
            elif spec.window is not None:
                parts.append(f"window_{spec.window.count}_{spec.window.grain.value}")
            else:
                parts.append("all_time")
            parts.append(spec.period_agg)
        return DUNDER.join(parts)


@dataclass(frozen=True)
class PlannedJoin:
    """``LEFT JOIN <model> AS <alias> ON <left_alias>.<left expr> = <alias>.<right expr>``."""

    alias: str
    model: SemanticModel
    left_alias: str
    left: Entity
    right: Entity


@dataclass(frozen=True)
class PlannedDimension:
    name: str
    table_alias: str
    dimension: Dimension
    grain: TimeGrain | None = None

    @property
    def is_metric_time(self) -> bool:
        return self.name.startswith(METRIC_TIME + DUNDER)


@dataclass(frozen=True)
class PlannedFilter:
    dimension: PlannedDimension
    filter: Filter


@dataclass(frozen=True)
class Leaf:
    """One aggregated measure of one node, a column of the combined row."""

    column: str
    measure: Measure


@dataclass
class Node:
    """One aggregation of one semantic model at the query grain."""

    alias: str
    key: NodeKey
    source: SemanticModel
    source_alias: str
    time_dimension: Dimension
    joins: tuple[PlannedJoin, ...] = ()
    dimensions: tuple[PlannedDimension, ...] = ()
    filters: tuple[PlannedFilter, ...] = ()
    leaves: list[Leaf] = field(default_factory=list)

    @property
    def currency(self) -> Dimension | None:
        """The currency dimension of this node's money measures (one per semantic model)."""
        names = [leaf.measure.currency_dimension for leaf in self.leaves if leaf.measure.unit is Unit.MONEY]
        name = next((n for n in names if n is not None), None)
        return self.source.dimensions[name] if name is not None else None

    @property
    def currency_columns(self) -> tuple[str, str, str]:
        """Hidden currency columns (``__`` prefix: no metric can clash): the row's currency code
        (``ANY_VALUE``), then ``MIN`` / ``MAX`` of its hash: one currency when they are equal."""
        prefix = f"__{self.alias}__currency"
        return prefix, f"{prefix}_low", f"{prefix}_high"


@dataclass(frozen=True)
class PlannedMetric:
    name: str
    metric: Metric
    expression: exp.Expr
    """Over leaf columns of the combined row (unqualified)."""
    money_measures: tuple[Measure, ...] = ()
    """The money measures behind it: its rows must each be in one currency."""


@dataclass(frozen=True)
class QueryPlan:
    nodes: tuple[Node, ...]
    dimensions: tuple[str, ...]
    metrics: tuple[PlannedMetric, ...]
    order_by: tuple[OrderBy, ...]
    limit: int | None
    currency_group_by: tuple[str, ...] = ()
    """Group-by names that are the money measures' own currency dimension (each row one currency)."""
    start: dt.date | None = None
    end: dt.date | None = None
    time_spine: TimeSpine | None = None
    exact_currencies: bool = False
    """Currency columns as ``MIN`` / ``MAX`` of the codes themselves, not of their hashes (slower;
    used only to name the currencies of a refused row)."""
    proven_currencies: tuple[tuple[str, str], ...] = ()
    """``(semantic model, code)``: models whose every row the warehouse proves holds that one
    currency (:mod:`square_bi.semantic.proven_currency`); their currency columns are the code as a
    constant, not computed from each row."""

    def proven_currency(self, model: str) -> str | None:
        return dict(self.proven_currencies).get(model)

    @property
    def one_proven_currency(self) -> str | None:
        """The currency of all the money when the warehouse proves every money model in the same
        one: the query then returns no currency columns at all, and each row's money is in it."""
        codes = {self.proven_currency(node.source.name) for node in self.nodes if node.currency is not None}
        return next(iter(codes)) if len(codes) == 1 else None

    @property
    def source(self) -> SemanticModel:
        return self.nodes[0].source


def plan_query(layer: SemanticLayer, resolved: ResolvedQuery) -> QueryPlan:
    planner = _Planner(layer, resolved)
    metrics = tuple(planner.plan_metric(metric) for metric in resolved.metrics)
    nodes = tuple(planner.nodes.values())
    currency_group_by = tuple(
        name
        for name in resolved.group_by
        if any(
            isinstance(g := layer.group_bys[node.source.name][name], DimensionGroupBy)
            and not g.path
            and node.currency is not None
            and g.dimension.name == node.currency.name
            for node in nodes
        )
    )
    return QueryPlan(
        nodes=nodes,
        dimensions=resolved.group_by,
        metrics=metrics,
        order_by=resolved.order_by,
        limit=resolved.limit,
        currency_group_by=currency_group_by,
        start=resolved.start,
        end=resolved.end,
        time_spine=layer.time_spine,
    )


class _Planner:
    def __init__(self, layer: SemanticLayer, resolved: ResolvedQuery) -> None:
        self.layer = layer
        self.resolved = resolved
        self.nodes: dict[NodeKey, Node] = {}

    def plan_metric(self, metric: Metric) -> PlannedMetric:
        expression = self.lower(metric, None)
        money = tuple(m for m in self.layer.measures_of(metric) if m.unit is Unit.MONEY)
        return PlannedMetric(metric.name, metric, expression, money)

    def lower(self, metric: Metric, offset: Offset | None) -> exp.Expr:
        """``metric`` as an expression over leaf columns, ``offset`` earlier when given."""
        if metric.type is MetricType.RATIO:
            assert metric.numerator is not None and metric.denominator is not None
            numerator = self._input(metric.numerator.name, metric.numerator.offset, offset, metric)
            denominator = self._input(metric.denominator.name, metric.denominator.offset, offset, metric)
            return safe_divide(numerator, denominator)
        if metric.type is MetricType.DERIVED:
            assert metric.expr is not None
            values = {i.expr_name: self._input(i.name, i.offset, offset, metric) for i in metric.inputs}

            def substitute(node: exp.Expr) -> exp.Expr:
                if isinstance(node, exp.Column):
                    value = values[node.name].copy()
                    return value if isinstance(value, exp.Column) else exp.paren(value, copy=False)
                return node

            def make_safe(node: exp.Expr) -> exp.Expr:
                return safe_divide(node.this, node.expression) if isinstance(node, exp.Div) else node

            tree = metric.expr.transform(substitute).transform(make_safe)
            return tree
        measure = self.layer.measure_of(metric)
        if metric.cumulative is not None and offset is not None:
            raise UnsupportedQueryError(f"An offset of cumulative metric {metric.name!r} is not supported yet.")
        key = NodeKey(measure.semantic_model, offset, metric.cumulative)
        return exp.column(exp.to_identifier(self._leaf(key, measure, metric).column))

    def _input(self, name: str, own: Offset | None, outer: Offset | None, parent: Metric) -> exp.Expr:
        if own is not None and outer is not None:
            raise UnsupportedQueryError(f"Metric {parent.name!r} nests offset windows, which is not supported yet.")
        return self.lower(self.layer.metric(name), own or outer)

    def _leaf(self, key: NodeKey, measure: Measure, metric: Metric) -> Leaf:
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = self._node(key, metric)
        column = measure.name + (DUNDER + key.tag if key.tag else "")
        for leaf in node.leaves:
            if leaf.column == column:
                return leaf
        if key.cumulative is not None and measure.agg not in _ADDITIVE:
            raise UnsupportedQueryError(
                f"Cumulative metric {metric.name!r} adds up daily values, which is wrong for a "
                f"{measure.agg.value} measure ({measure.name!r}); not supported."
            )
        leaf = Leaf(column, measure)
        node.leaves.append(leaf)
        return leaf

    def _node(self, key: NodeKey, metric: Metric) -> Node:
        source = self.layer.semantic_models[key.source]
        available = self.layer.group_bys[source.name]
        group_bys = [available[name] for name in self.resolved.group_by]
        filters = [(available[f.name], f.filter) for f in self.resolved.where]
        measures = [m for m in self.layer.measures.values() if m.semantic_model == source.name]
        time_dimension = source.dimensions[measures[0].agg_time_dimension]
        self._check_time_semantics(key, metric, group_bys, filters)
        join_paths = {
            DUNDER.join(step.entity for step in g.path[: i + 1]): g.path[: i + 1]
            for g in [*group_bys, *(g for g, _ in filters)]
            if isinstance(g, DimensionGroupBy)
            for i in range(len(g.path))
        }
        alias = source.name + (DUNDER + key.tag if key.tag else "")
        source_alias = _fresh_alias(source.name, set(join_paths))
        joins = []
        for join_alias, path in join_paths.items():
            step = path[-1]
            left_model = self.layer.semantic_models[step.from_model]
            right_model = self.layer.semantic_models[step.to_model]
            joins.append(
                PlannedJoin(
                    alias=join_alias,
                    model=right_model,
                    left_alias=DUNDER.join(s.entity for s in path[:-1]) or source_alias,
                    left=left_model.entities[step.entity],
                    right=right_model.entities[step.entity],
                )
            )
        return Node(
            alias=alias,
            key=key,
            source=source,
            source_alias=source_alias,
            time_dimension=time_dimension,
            joins=tuple(joins),
            dimensions=tuple(_planned(g, source_alias, time_dimension) for g in group_bys),
            filters=tuple(PlannedFilter(_planned(g, source_alias, time_dimension), f) for g, f in filters),
        )

    def _check_time_semantics(
        self, key: NodeKey, metric: Metric, group_bys: list[GroupBy], filters: list[tuple[GroupBy, Filter]]
    ) -> None:
        if key.offset is None and key.cumulative is None:
            return
        if any(isinstance(g, MetricTimeGroupBy) for g, _ in filters):
            raise UnsupportedQueryError(
                f"Metric {metric.name!r} looks at other periods than the rows it reports, so a where filter "
                "on metric_time would cut its inputs; use start and end (business dates, inclusive) instead."
            )
        if key.cumulative is not None:
            spec = key.cumulative
            if spec.period_agg not in ("first", "last"):
                raise UnsupportedQueryError(f"period_agg {spec.period_agg!r} of {metric.name!r} is not supported yet.")
            if self.layer.time_spine is None:
                raise UnsupportedQueryError(f"Cumulative metric {metric.name!r} needs a time spine in the YAML.")
            return
        assert key.offset is not None
        grains = [g.grain for g in group_bys if isinstance(g, MetricTimeGroupBy)]
        if not grains or not _offset_fits(key.offset, grains[0]):
            allowed = ", ".join(METRIC_TIME + DUNDER + g.value for g in TimeGrain if _offset_fits(key.offset, g))
            raise UnsupportedQueryError(
                f"Metric {metric.name!r} compares each period with the one {key.offset} earlier: group by "
                f"metric_time at a grain that {key.offset} shifts exactly ({allowed})."
            )


def _offset_fits(offset: Offset, grain: TimeGrain) -> bool:
    """Truncating to ``grain`` commutes with shifting by ``offset`` (so periods map to periods)."""
    if grain is TimeGrain.DAY:
        return True
    if grain is TimeGrain.WEEK:
        return offset.grain is TimeGrain.WEEK
    month_multiple = {TimeGrain.MONTH: 1, TimeGrain.QUARTER: 3, TimeGrain.YEAR: 12}
    if offset.grain not in month_multiple:
        return False
    return month_multiple[offset.grain] * offset.count % month_multiple[grain] == 0


def _planned(group_by: GroupBy, source_alias: str, time_dimension: Dimension) -> PlannedDimension:
    if isinstance(group_by, MetricTimeGroupBy):
        return PlannedDimension(group_by.name, source_alias, time_dimension, group_by.grain)
    return PlannedDimension(group_by.name, group_by.join_alias or source_alias, group_by.dimension, group_by.grain)


def safe_divide(numerator: exp.Expr, denominator: exp.Expr) -> exp.Expr:
    """``CAST(n AS DOUBLE) / NULLIF(d, 0)``: NULL when the denominator is 0, float division everywhere."""
    return exp.Div(
        this=exp.cast(numerator.copy(), exp.DataType.Type.DOUBLE),
        expression=exp.Nullif(this=denominator.copy(), expression=exp.Literal.number(0)),
    )


def _fresh_alias(preferred: str, taken: set[str]) -> str:
    alias, counter = preferred, 0
    while alias in taken:
        counter += 1
        alias = f"{preferred}_{counter}"
    return alias
