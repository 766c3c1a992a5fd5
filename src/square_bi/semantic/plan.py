"""The compiler's front end: resolve every name of a query, then plan tables and joins.

``resolve_query`` checks each name against the layer before anything else happens (an unknown or
hostile name raises :class:`UnknownNameError` listing the valid ones); ``plan_query`` decides the
source table, the LEFT JOINs the group-bys need (and no others) and the output columns,
including, when money is asked for, each group's currency (:class:`PlannedCurrency`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from square_bi.semantic.errors import UnknownNameError, UnsupportedQueryError
from square_bi.semantic.model import (
    DUNDER,
    Dimension,
    DimensionGroupBy,
    Entity,
    GroupBy,
    Measure,
    Metric,
    MetricTimeGroupBy,
    SemanticLayer,
    SemanticModel,
    TimeGrain,
    Unit,
)
from square_bi.semantic.query import MetricQuery

__all__ = [
    "OrderBy",
    "PlannedCurrency",
    "PlannedDimension",
    "PlannedJoin",
    "PlannedMetric",
    "QueryPlan",
    "ResolvedQuery",
    "plan_query",
    "resolve_query",
]


@dataclass(frozen=True)
class OrderBy:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class ResolvedQuery:
    """A query whose every name is a layer object; one source semantic model (for now)."""

    source: SemanticModel
    metrics: tuple[Metric, ...]
    measures: tuple[Measure, ...]
    group_by: tuple[GroupBy, ...]
    order_by: tuple[OrderBy, ...]
    limit: int | None

    @property
    def agg_time_dimension(self) -> Dimension:
        """What ``metric_time`` means for this query's metrics."""
        return self.source.dimensions[self.measures[0].agg_time_dimension]


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


@dataclass(frozen=True)
class PlannedMetric:
    name: str
    metric: Metric
    measure: Measure
    table_alias: str


@dataclass(frozen=True)
class PlannedCurrency:
    """The currency of each result group's money, for the money measures whose currency is
    ``dimension``: selected as ``MIN(..) AS <min_name>, MAX(..) AS <max_name>`` (trailing columns
    the runner strips). Equal, the group holds one currency (the two are NULL when it holds none);
    different, the group would add up amounts in several currencies.
    """

    dimension: Dimension
    table_alias: str
    min_name: str
    max_name: str
    group_by: str | None = None
    """The group-by name when the query groups by this very dimension (each row one currency)."""


@dataclass(frozen=True)
class QueryPlan:
    source: SemanticModel
    source_alias: str
    joins: tuple[PlannedJoin, ...]
    dimensions: tuple[PlannedDimension, ...]
    metrics: tuple[PlannedMetric, ...]
    order_by: tuple[OrderBy, ...]
    limit: int | None
    currencies: tuple[PlannedCurrency, ...] = ()
    """One per currency dimension of the money metrics; empty when no metric is money."""


# -- resolve ----------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return name.strip().lower()


def resolve_query(layer: SemanticLayer, query: MetricQuery) -> ResolvedQuery:
    metrics = tuple({m.name: m for m in (layer.metric(_normal(n)) for n in query.metrics)}.values())
    for metric in metrics:
        if metric.unsupported is not None:
            raise UnsupportedQueryError(f"Metric {metric.name!r} cannot be answered yet: {metric.unsupported}.")
    measures = tuple(layer.measure_of(metric) for metric in metrics)
    sources = sorted({measure.semantic_model for measure in measures})
    if len(sources) > 1:
        raise UnsupportedQueryError(
            f"Metrics {[m.name for m in metrics]} come from different semantic models {sources}; "
            "ask for them in separate queries (combining them is not supported yet)."
        )
    source = layer.semantic_models[sources[0]]
    available = layer.group_bys.get(source.name, {})
    group_by = _resolve_group_by(query.group_by, available, layer, metrics)
    if any(isinstance(g, MetricTimeGroupBy) for g in group_by):
        time_dims = sorted({measure.agg_time_dimension for measure in measures})
        if len(time_dims) > 1:
            raise UnsupportedQueryError(
                f"metric_time means different time dimensions {time_dims} for these metrics; "
                "ask for them in separate queries."
            )
    order_by = _resolve_order_by(query.order_by, available, metrics, group_by)
    return ResolvedQuery(source, metrics, measures, group_by, order_by, query.limit)


def _resolve_group_by(
    names: Sequence[str], available: Mapping[str, GroupBy], layer: SemanticLayer, metrics: Sequence[Metric]
) -> tuple[GroupBy, ...]:
    resolved: dict[str, GroupBy] = {}
    for raw in names:
        item = available.get(_normal(raw))
        if item is None:
            hint = ""
            if _normal(raw) in layer.metrics:
                hint = f"{raw!r} is a metric: put it in metrics, not group_by."
            valid = layer.group_bys_for(m.name for m in metrics)
            raise UnknownNameError(raw, valid, kind="group_by dimension", hint=hint)
        resolved.setdefault(item.name, item)
    return tuple(resolved.values())


def _resolve_order_by(
    names: Sequence[str], available: Mapping[str, GroupBy], metrics: Sequence[Metric], group_by: Sequence[GroupBy]
) -> tuple[OrderBy, ...]:
    selected = [m.name for m in metrics] + [g.name for g in group_by]
    resolved: dict[str, OrderBy] = {}
    for raw in names:
        text = raw.strip()
        descending = text.startswith("-")
        name = _normal(text[1:] if descending or text.startswith("+") else text)
        alias = available.get(name)
        canonical = alias.name if name not in selected and alias is not None else name
        if canonical not in selected:
            raise UnknownNameError(
                raw, selected, kind="order_by name", hint="Order by a selected metric or group_by name."
            )
        resolved.setdefault(canonical, OrderBy(canonical, descending))
    return tuple(resolved.values())


# -- plan -------------------------------------------------------------------------------------


def plan_query(layer: SemanticLayer, resolved: ResolvedQuery) -> QueryPlan:
    """Tables, joins and columns for a resolved query: only the joins its group-bys need."""
    join_paths = {
        DUNDER.join(step.entity for step in g.path[: i + 1]): g.path[: i + 1]
        for g in resolved.group_by
        if isinstance(g, DimensionGroupBy)
        for i in range(len(g.path))
    }
    source_alias = _fresh_alias(resolved.source.name, set(join_paths))
    joins = []
    for alias, path in join_paths.items():
        step = path[-1]
        left_alias = DUNDER.join(s.entity for s in path[:-1]) or source_alias
        left_model = layer.semantic_models[step.from_model]
        right_model = layer.semantic_models[step.to_model]
        joins.append(
            PlannedJoin(
                alias=alias,
                model=right_model,
                left_alias=left_alias,
                left=left_model.entities[step.entity],
                right=right_model.entities[step.entity],
            )
        )
    dimensions = tuple(_planned_dimension(g, resolved, source_alias) for g in resolved.group_by)
    metrics = tuple(
        PlannedMetric(metric.name, metric, measure, source_alias)
        for metric, measure in zip(resolved.metrics, resolved.measures, strict=True)
    )
    return QueryPlan(
        source=resolved.source,
        source_alias=source_alias,
        joins=tuple(joins),
        dimensions=dimensions,
        metrics=metrics,
        order_by=resolved.order_by,
        limit=resolved.limit,
        currencies=_planned_currencies(resolved, source_alias),
    )


def _planned_currencies(resolved: ResolvedQuery, source_alias: str) -> tuple[PlannedCurrency, ...]:
    """Hidden column names start with ``__``: no metric or group-by name can (dbt names cannot)."""
    names = dict.fromkeys(
        m.currency_dimension for m in resolved.measures if m.unit is Unit.MONEY and m.currency_dimension is not None
    )
    grouped = {g.dimension.name: g.name for g in resolved.group_by if isinstance(g, DimensionGroupBy) and not g.path}
    return tuple(
        PlannedCurrency(
            dimension=resolved.source.dimensions[name],
            table_alias=source_alias,
            min_name=f"__{name}_min",
            max_name=f"__{name}_max",
            group_by=grouped.get(name),
        )
        for name in names
    )


def _planned_dimension(group_by: GroupBy, resolved: ResolvedQuery, source_alias: str) -> PlannedDimension:
    if isinstance(group_by, MetricTimeGroupBy):
        return PlannedDimension(group_by.name, source_alias, resolved.agg_time_dimension, group_by.grain)
    return PlannedDimension(group_by.name, group_by.join_alias or source_alias, group_by.dimension, group_by.grain)


def _fresh_alias(preferred: str, taken: set[str]) -> str:
    alias, counter = preferred, 0
    while alias in taken:
        counter += 1
        alias = f"{preferred}_{counter}"
    return alias
