"""The resolved semantic layer: what the compiler needs, indexed by name.

Built once from validated YAML by :mod:`square_bi.semantic.index`. Expressions from the YAML are
stored parsed (sqlglot trees, columns unqualified); copy them before changing them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from dbt_semantic_interfaces.type_enums import AggregationType, DimensionType, EntityType, MetricType
from sqlglot import exp

from square_bi.semantic.errors import UnknownNameError

__all__ = [
    "METRIC_TIME",
    "AggregationType",
    "Cumulative",
    "Dimension",
    "DimensionGroupBy",
    "DimensionType",
    "Entity",
    "EntityType",
    "GroupBy",
    "JoinStep",
    "Measure",
    "Metric",
    "MetricInput",
    "MetricTimeGroupBy",
    "MetricType",
    "Offset",
    "SemanticLayer",
    "SemanticModel",
    "TimeGrain",
    "TimeSpine",
    "Unit",
]

METRIC_TIME = "metric_time"
DUNDER = "__"


class TimeGrain(StrEnum):
    """Grains a time dimension can be grouped by, finest first. Weeks start on Monday (ISO 8601)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def rank(self) -> int:
        return list(TimeGrain).index(self)


class Unit(StrEnum):
    """What a measure stores / a metric reports (``config.meta.unit``)."""

    MONEY = "money"
    """Stored as BIGINT minor units of the currency; reported as DECIMAL major units."""
    COUNT = "count"
    NUMBER = "number"


@dataclass(frozen=True)
class Entity:
    name: str
    type: EntityType
    expr: exp.Expr
    semantic_model: str


@dataclass(frozen=True)
class Dimension:
    name: str
    type: DimensionType
    expr: exp.Expr
    semantic_model: str
    label: str | None = None
    description: str | None = None
    time_granularity: TimeGrain | None = None
    """Declared grain of a time dimension; ``None`` for categorical ones."""


@dataclass(frozen=True)
class Measure:
    name: str
    agg: AggregationType
    expr: exp.Expr
    semantic_model: str
    agg_time_dimension: str
    unit: Unit = Unit.NUMBER
    currency_dimension: str | None = None
    """For money: the categorical dimension of the same semantic model holding the ISO currency."""
    label: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Offset:
    """A whole number of calendar periods, e.g. ``1 week`` (an offset window or a cumulative window)."""

    count: int
    grain: TimeGrain

    def __str__(self) -> str:
        return f"{self.count} {self.grain.value}{'s' if self.count != 1 else ''}"


@dataclass(frozen=True)
class MetricInput:
    """A metric used by a ratio or derived metric; ``alias`` is its name in a derived ``expr``."""

    name: str
    alias: str | None = None
    offset: Offset | None = None
    """``offset_window``: the input's value that many periods earlier (period over period)."""

    @property
    def expr_name(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class Cumulative:
    """A cumulative metric's accumulation: a trailing ``window``, a ``grain_to_date``, or all time.

    ``period_agg`` says which day's value stands for a coarser period: ``last`` (square-bi's
    reading: the value at the period's end), ``first`` or ``average``.
    """

    window: Offset | None = None
    grain_to_date: TimeGrain | None = None
    period_agg: str = "last"


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str
    type: MetricType
    unit: Unit
    measure: str | None = None
    synonyms: tuple[str, ...] = ()
    unsupported: str | None = None
    """Why this compiler cannot answer the metric yet (``None`` when it can)."""
    numerator: MetricInput | None = None
    denominator: MetricInput | None = None
    inputs: tuple[MetricInput, ...] = ()
    """A derived metric's input metrics."""
    expr: exp.Expr | None = None
    """A derived metric's expression over its inputs' ``expr_name`` (parsed, unqualified columns)."""
    cumulative: Cumulative | None = None


@dataclass(frozen=True)
class SemanticModel:
    name: str
    table: str
    schema: str
    entities: Mapping[str, Entity]
    dimensions: Mapping[str, Dimension]
    measures: tuple[str, ...] = ()
    primary_entity: str | None = None
    label: str | None = None
    description: str | None = None
    local_copies: Mapping[str, exp.Expr] = field(default_factory=dict)
    """``config.meta.local_copies``: joined group-by name (``order__source``) -> an expr over this
    model's own table declared to hold the very same value (``order_source``), read without the join."""


@dataclass(frozen=True)
class TimeSpine:
    table: str
    schema: str
    column: str
    grain: TimeGrain


@dataclass(frozen=True)
class JoinStep:
    """A many-to-one hop: ``from_model``'s entity matches the same entity, unique in ``to_model``."""

    entity: str
    from_model: str
    to_model: str


@dataclass(frozen=True)
class DimensionGroupBy:
    """A dimension reachable from a source semantic model, e.g. ``location__name``."""

    name: str
    dimension: Dimension
    path: tuple[JoinStep, ...] = ()
    grain: TimeGrain | None = None

    @property
    def join_alias(self) -> str | None:
        """Alias of the joined table holding the dimension (``None``: the source table itself)."""
        return DUNDER.join(step.entity for step in self.path) if self.path else None


@dataclass(frozen=True)
class MetricTimeGroupBy:
    """``metric_time__<grain>``: each metric's aggregation time dimension at a grain."""

    name: str
    grain: TimeGrain


GroupBy = DimensionGroupBy | MetricTimeGroupBy


@dataclass(frozen=True)
class SemanticLayer:
    """Metrics, measures, semantic models and, per source model, every name a query may group by."""

    directory: Path
    semantic_models: Mapping[str, SemanticModel]
    measures: Mapping[str, Measure]
    metrics: Mapping[str, Metric]
    group_bys: Mapping[str, Mapping[str, GroupBy]] = field(default_factory=dict)
    """Source semantic model name -> group-by name (aliases included) -> what it resolves to."""
    time_spine: TimeSpine | None = None

    def metric(self, name: str) -> Metric:
        found = self.metrics.get(name)
        if found is None:
            raise UnknownNameError(name, self.metrics, kind="metric", hint=self._synonym_hint(name))
        return found

    def measure_of(self, metric: Metric) -> Measure:
        if metric.measure is None or metric.measure not in self.measures:
            raise UnknownNameError(str(metric.measure), self.measures, kind="measure")
        return self.measures[metric.measure]

    def source_model_of(self, metric: Metric) -> SemanticModel:
        """The semantic model of a simple or cumulative metric's measure."""
        return self.semantic_models[self.measure_of(metric).semantic_model]

    def input_metrics_of(self, metric: Metric) -> tuple[MetricInput, ...]:
        """The metrics a ratio (numerator, denominator) or derived metric is computed from."""
        pair = tuple(i for i in (metric.numerator, metric.denominator) if i is not None)
        return pair + metric.inputs

    def measures_of(self, metric: Metric) -> tuple[Measure, ...]:
        """Every measure ``metric`` aggregates, through ratio and derived inputs, in order."""
        if metric.measure is not None:
            return (self.measure_of(metric),)
        found: dict[str, Measure] = {}
        for item in self.input_metrics_of(metric):
            for measure in self.measures_of(self.metric(item.name)):
                found.setdefault(measure.name, measure)
        return tuple(found.values())

    def group_bys_for(self, metrics: Iterable[str]) -> dict[str, GroupBy]:
        """Canonical group-by names usable with every one of ``metrics`` (aliases left out)."""
        result: dict[str, GroupBy] | None = None
        for name in metrics:
            for measure in self.measures_of(self.metric(name)):
                available = self.group_bys.get(measure.semantic_model, {})
                canonical = {key: value for key, value in available.items() if key == value.name}
                result = canonical if result is None else {k: v for k, v in result.items() if k in canonical}
        return dict(sorted((result or {}).items()))

    def _synonym_hint(self, name: str) -> str:
        wanted = name.strip().lower().replace("_", " ")
        owners = sorted(m.name for m in self.metrics.values() if wanted in {s.lower() for s in m.synonyms})
        if not owners:
            return ""
        return f"{name!r} is a synonym of " + " and ".join(repr(o) for o in owners) + "."
