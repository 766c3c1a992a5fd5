"""Build the resolved :class:`SemanticLayer` from a validated manifest.

Parses every ``expr`` once (sqlglot, the warehouse dialect), reads square-bi's ``config.meta``
keys, notes what the compiler cannot answer yet, and lists for every semantic model with measures
the names a query may group by: its own dimensions (``<primary entity>__<dim>``), dimensions of
models reachable through many-to-one entity joins (``location__name``, up to
:data:`MAX_JOIN_HOPS` hops: ``a__b__dim``), time dimensions at every grain at least as coarse as
declared (``order_line_item__business_date__week``) and ``metric_time__<grain>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlglot
from dbt_semantic_interfaces.implementations.elements.dimension import PydanticDimension
from dbt_semantic_interfaces.implementations.elements.measure import PydanticMeasure
from dbt_semantic_interfaces.implementations.metric import PydanticMetric, PydanticMetricInput, PydanticMetricTimeWindow
from dbt_semantic_interfaces.implementations.semantic_manifest import PydanticSemanticManifest
from dbt_semantic_interfaces.implementations.semantic_model import PydanticSemanticModel
from sqlglot import exp
from sqlglot.errors import SqlglotError

from square_bi.errors import did_you_mean
from square_bi.semantic.dbt_format import DsiDocument
from square_bi.semantic.errors import SemanticYamlError, YamlIssue
from square_bi.semantic.model import (
    DUNDER,
    METRIC_TIME,
    AggregationType,
    Cumulative,
    Dimension,
    DimensionGroupBy,
    DimensionType,
    Entity,
    EntityType,
    GroupBy,
    JoinStep,
    Measure,
    Metric,
    MetricInput,
    MetricTimeGroupBy,
    MetricType,
    Offset,
    SemanticLayer,
    SemanticModel,
    TimeGrain,
    TimeSpine,
    Unit,
)

__all__ = ["MAX_JOIN_HOPS", "SOURCE_DIALECT", "build_layer"]

SOURCE_DIALECT = "duckdb"
"""Dialect the YAML's ``expr`` snippets are written in (the warehouse's)."""
MAX_JOIN_HOPS = 2
_UNIQUE_ENTITY_TYPES = (EntityType.PRIMARY, EntityType.UNIQUE, EntityType.NATURAL)
_SUPPORTED_AGGS = (
    AggregationType.SUM,
    AggregationType.COUNT,
    AggregationType.COUNT_DISTINCT,
    AggregationType.MIN,
    AggregationType.MAX,
    AggregationType.AVERAGE,
    AggregationType.SUM_BOOLEAN,
)
_FORBIDDEN_IN_EXPR = (exp.Query, exp.Command, exp.Create, exp.Drop, exp.Insert, exp.Update, exp.Delete)


class _Issues:
    """Collects problems found while indexing, located through the documents' origins."""

    def __init__(self, documents: Sequence[DsiDocument]) -> None:
        self._documents = documents
        self.found: list[YamlIssue] = []

    def add(self, kind: str, name: str, message: str, *subpath: str | int) -> None:
        document = next((d for d in self._documents if d.kind == kind and d.name == name), None)
        issue = document.origin.issue(message, *subpath) if document else YamlIssue(None, None, message)
        self.found.append(issue)


def build_layer(directory: Path, manifest: PydanticSemanticManifest, documents: Sequence[DsiDocument]) -> SemanticLayer:
    issues = _Issues(documents)
    models: dict[str, SemanticModel] = {}
    measures: dict[str, Measure] = {}
    for model in manifest.semantic_models:
        models[model.name] = _semantic_model(model, issues)
        for index, measure in enumerate(model.measures):
            measures[measure.name] = _measure(model, index, measure, issues)
    metrics = {metric.name: _metric(metric, measures, issues) for metric in manifest.metrics}
    _check_metric_inputs(metrics, issues)
    if issues.found:
        raise SemanticYamlError(issues.found)
    sources = sorted({measure.semantic_model for measure in measures.values()})
    group_bys = {name: _group_bys(models, models[name], measures, issues) for name in sources}
    if issues.found:
        raise SemanticYamlError(issues.found)
    return SemanticLayer(
        directory=directory,
        semantic_models=models,
        measures=measures,
        metrics=metrics,
        group_bys=group_bys,
        time_spine=_time_spine(manifest),
    )


def _parse_expr(
    text: str | None, default: str, issues: _Issues, model: str, *at: str | int, kind: str = "semantic_model"
) -> exp.Expr:
    source = str(text) if text is not None else default
    try:
        parsed = sqlglot.parse_one(source, read=SOURCE_DIALECT)
    except SqlglotError as error:
        reason = str(error).splitlines()[0]
        issues.add(kind, model, f"expr {source!r} is not valid SQL: {reason}", *at, "expr")
        return exp.Null()
    if parsed.find(*_FORBIDDEN_IN_EXPR):
        message = f"expr {source!r} must be an expression over the table's columns, not a query or statement"
        issues.add(kind, model, message, *at, "expr")
        return exp.Null()
    if text is None:  # a bare name is always a column, even one that reads like a keyword
        return exp.Column(this=exp.to_identifier(default))
    return parsed


def _semantic_model(model: PydanticSemanticModel, issues: _Issues) -> SemanticModel:
    entities = {
        entity.name: Entity(
            name=entity.name,
            type=entity.type,
            expr=_parse_expr(entity.expr, entity.name, issues, model.name, "entities", index),
            semantic_model=model.name,
        )
        for index, entity in enumerate(model.entities)
    }
    dimensions = {
        dimension.name: _dimension(model.name, index, dimension, issues)
        for index, dimension in enumerate(model.dimensions)
    }
    primary = model.primary_entity or next((e.name for e in model.entities if e.type is EntityType.PRIMARY), None)
    copies = _meta(model.config).get("local_copies") or {}
    if not isinstance(copies, dict):
        issues.add("semantic_model", model.name, "config.meta.local_copies must map group-by names to exprs")
        copies = {}
    local_copies = {
        str(name): _parse_expr(str(text), str(text), issues, model.name, "config", "meta", "local_copies")
        for name, text in copies.items()
        if not str(name).startswith("__")  # the YAML parser's own keys (line numbers)
    }
    return SemanticModel(
        name=model.name,
        table=model.node_relation.alias,
        schema=model.node_relation.schema_name,
        entities=entities,
        dimensions=dimensions,
        measures=tuple(m.name for m in model.measures),
        primary_entity=primary,
        label=model.label,
        description=model.description,
        local_copies=local_copies,
    )


def _dimension(model: str, index: int, dimension: PydanticDimension, issues: _Issues) -> Dimension:
    grain = None
    if dimension.type is DimensionType.TIME and dimension.type_params is not None:
        declared = dimension.type_params.time_granularity.value
        if declared not in [g.value for g in TimeGrain]:
            message = f"time_granularity {declared!r} is not supported; use one of {[g.value for g in TimeGrain]}"
            issues.add("semantic_model", model, message, "dimensions", index, "type_params")
        else:
            grain = TimeGrain(declared)
    return Dimension(
        name=dimension.name,
        type=dimension.type,
        expr=_parse_expr(dimension.expr, dimension.name, issues, model, "dimensions", index),
        semantic_model=model,
        label=dimension.label,
        description=dimension.description,
        time_granularity=grain,
    )


def _measure(model: PydanticSemanticModel, index: int, measure: PydanticMeasure, issues: _Issues) -> Measure:
    meta = _meta(measure.config)
    default_time = model.defaults.agg_time_dimension if model.defaults is not None else None
    return Measure(
        name=measure.name,
        agg=measure.agg,
        expr=_parse_expr(measure.expr, measure.name, issues, model.name, "measures", index),
        semantic_model=model.name,
        agg_time_dimension=str(measure.agg_time_dimension or default_time),
        unit=Unit(meta.get("unit", Unit.NUMBER.value)),
        currency_dimension=meta.get("currency_dimension"),
        label=measure.label,
        description=measure.description,
    )


def _metric(metric: PydanticMetric, measures: Mapping[str, Measure], issues: _Issues) -> Metric:
    meta = _meta(metric.config)
    params = metric.type_params
    measure_input = params.measure
    measure = measures.get(measure_input.name) if measure_input is not None else None
    unit = meta.get("unit") or (measure.unit.value if measure is not None else Unit.NUMBER.value)
    problems: list[str] = []
    expr = None
    if params.expr is not None and metric.type is MetricType.DERIVED:
        expr = _parse_expr(params.expr, "", issues, metric.name, "type_params", kind="metric")
    return Metric(
        name=metric.name,
        label=metric.label or metric.name.replace("_", " ").capitalize(),
        description=" ".join((metric.description or "").split()),
        type=metric.type,
        unit=Unit(unit),
        measure=measure.name if measure is not None else None,
        synonyms=tuple(meta.get("synonyms", ())),
        numerator=_input(params.numerator, problems),
        denominator=_input(params.denominator, problems),
        inputs=tuple(i for i in (_input(m, problems) for m in params.metrics or []) if i is not None),
        expr=expr,
        cumulative=_cumulative(metric, problems),
        unsupported=_unsupported(metric, measure, problems),
    )


def _window(window: PydanticMetricTimeWindow | None, problems: list[str]) -> Offset | None:
    if window is None:
        return None
    grain = window.granularity.lower().rstrip("s")
    if grain not in [g.value for g in TimeGrain]:
        problems.append(f"window grain {window.granularity!r} is not supported")
        return None
    return Offset(window.count, TimeGrain(grain))


def _input(item: PydanticMetricInput | None, problems: list[str]) -> MetricInput | None:
    if item is None:
        return None
    if item.filter is not None:
        problems.append("filters on input metrics are not supported yet")
    if item.offset_to_grain is not None:
        problems.append("offset_to_grain is not supported yet")
    return MetricInput(name=item.name, alias=item.alias, offset=_window(item.offset_window, problems))


def _cumulative(metric: PydanticMetric, problems: list[str]) -> Cumulative | None:
    if metric.type is not MetricType.CUMULATIVE:
        return None
    params = metric.type_params
    cumulative = params.cumulative_type_params
    window = (cumulative.window if cumulative is not None else None) or params.window
    to_date = (cumulative.grain_to_date if cumulative is not None else None) or params.grain_to_date
    grain = None
    if to_date is not None:
        text = str(getattr(to_date, "value", to_date)).lower()
        if text in [g.value for g in TimeGrain]:
            grain = TimeGrain(text)
        else:
            problems.append(f"grain_to_date {text!r} is not supported")
    period_agg = cumulative.period_agg.value if cumulative is not None else "first"
    return Cumulative(window=_window(window, problems), grain_to_date=grain, period_agg=period_agg)


def _unsupported(metric: PydanticMetric, measure: Measure | None, problems: list[str]) -> str | None:
    if problems:
        return "; ".join(dict.fromkeys(problems))
    measure_input = metric.type_params.measure
    if metric.type not in (MetricType.SIMPLE, MetricType.CUMULATIVE, MetricType.RATIO, MetricType.DERIVED):
        return f"{metric.type.value} metrics are not supported yet"
    if metric.filter is not None:
        return "metric filters are not supported yet"
    if metric.type in (MetricType.RATIO, MetricType.DERIVED):
        return None
    if measure is None or measure_input is None:
        return f"{metric.type.value} metrics without a measure are not supported yet"
    if measure_input.filter is not None:
        return "metric filters are not supported yet"
    if measure_input.join_to_timespine or measure_input.fill_nulls_with is not None or measure_input.alias:
        return "join_to_timespine, fill_nulls_with and alias on a measure input are not supported yet"
    if measure.agg not in _SUPPORTED_AGGS:
        return f"aggregation {measure.agg.value!r} is not supported yet"
    return None


def _check_metric_inputs(metrics: Mapping[str, Metric], issues: _Issues) -> None:
    """A derived ``expr`` may name only its inputs (by alias when given); no cycles."""
    for metric in metrics.values():
        if metric.expr is None:
            continue
        known = {item.expr_name for item in metric.inputs}
        for column in metric.expr.find_all(exp.Column):
            if column.table or column.name not in known:
                message = did_you_mean(column.sql(), sorted(known), kind="input metric in expr")
                issues.add("metric", metric.name, f"metric {metric.name!r}: {message}", "type_params", "expr")
    for name in metrics:
        _check_acyclic(name, metrics, (), issues)


def _check_acyclic(name: str, metrics: Mapping[str, Metric], seen: tuple[str, ...], issues: _Issues) -> None:
    if name in seen:
        issues.add("metric", seen[0], f"metric {seen[0]!r} depends on itself: {' -> '.join((*seen, name))}")
        return
    metric = metrics.get(name)
    if metric is None:
        return
    for item in (metric.numerator, metric.denominator, *metric.inputs):
        if item is not None:
            _check_acyclic(item.name, metrics, (*seen, name), issues)


def _meta(config: Any) -> dict[str, Any]:
    meta = getattr(config, "meta", None) or {}
    return {key: value for key, value in meta.items() if not key.startswith("__")}


def _time_spine(manifest: PydanticSemanticManifest) -> TimeSpine | None:
    spines = manifest.project_configuration.time_spines
    if not spines:
        return None
    spine = spines[0]
    granularity = spine.primary_column.time_granularity.value
    return TimeSpine(
        table=spine.node_relation.alias,
        schema=spine.node_relation.schema_name,
        column=spine.primary_column.name,
        grain=TimeGrain(granularity) if granularity in [g.value for g in TimeGrain] else TimeGrain.DAY,
    )


# -- what a query may group by ----------------------------------------------------------------


def _group_bys(
    models: Mapping[str, SemanticModel], source: SemanticModel, measures: Mapping[str, Measure], issues: _Issues
) -> dict[str, GroupBy]:
    found: dict[str, GroupBy] = {}
    if source.primary_entity is not None:
        _add_dimensions(found, source, source.primary_entity, ())
    frontier: list[tuple[tuple[JoinStep, ...], SemanticModel]] = [((), source)]
    for _ in range(MAX_JOIN_HOPS):
        reached: list[tuple[tuple[JoinStep, ...], SemanticModel]] = []
        for path, model in frontier:
            visited = {source.name, *(step.to_model for step in path)}
            for entity in model.entities.values():
                for target in models.values():
                    joined = target.entities.get(entity.name)
                    if target.name in visited or joined is None or joined.type not in _UNIQUE_ENTITY_TYPES:
                        continue
                    step_path = (*path, JoinStep(entity.name, model.name, target.name))
                    _add_dimensions(found, target, DUNDER.join(s.entity for s in step_path), step_path)
                    reached.append((step_path, target))
        frontier = reached
    _add_metric_time(found, source, measures)
    _use_local_copies(found, source, issues)
    return found


def _use_local_copies(found: dict[str, GroupBy], source: SemanticModel, issues: _Issues) -> None:
    """A joined categorical dimension ``source`` declares a copy of is read from ``source`` itself.

    Only what ``config.meta.local_copies`` declares: the same value under another name is not
    guessed (a line's ``order_source`` equals its order's ``source`` because the star schema copies
    it, not because the names match).
    """
    for name, expr in source.local_copies.items():
        joined = found.get(name)
        if not isinstance(joined, DimensionGroupBy) or not joined.path or joined.grain is not None:
            message = f"config.meta.local_copies: {name!r} is not a categorical dimension of a joined model"
            issues.add("semantic_model", source.name, message, "config", "meta", "local_copies")
            continue
        local = replace(joined.dimension, expr=expr, semantic_model=source.name)
        for key, value in list(found.items()):
            if value is joined:
                found[key] = DimensionGroupBy(joined.name, local)


def _add_dimensions(found: dict[str, GroupBy], model: SemanticModel, prefix: str, path: tuple[JoinStep, ...]) -> None:
    for dimension in model.dimensions.values():
        base = f"{prefix}{DUNDER}{dimension.name}"
        declared = dimension.time_granularity
        if declared is None:
            found.setdefault(base, DimensionGroupBy(base, dimension, path))
            continue
        for grain in TimeGrain:
            if grain.rank >= declared.rank:
                name = f"{base}{DUNDER}{grain.value}"
                found.setdefault(name, DimensionGroupBy(name, dimension, path, grain))
        found.setdefault(base, found[f"{base}{DUNDER}{declared.value}"])


def _add_metric_time(found: dict[str, GroupBy], source: SemanticModel, measures: Mapping[str, Measure]) -> None:
    declared = [
        source.dimensions[m.agg_time_dimension].time_granularity
        for m in measures.values()
        if m.semantic_model == source.name and m.agg_time_dimension in source.dimensions
    ]
    grains = [g for g in declared if g is not None]
    if not grains:
        return
    finest = max(grains, key=lambda g: g.rank)  # the finest grain every measure supports
    for grain in TimeGrain:
        if grain.rank >= finest.rank:
            name = f"{METRIC_TIME}{DUNDER}{grain.value}"
            found[name] = MetricTimeGroupBy(name, grain)
    found[METRIC_TIME] = found[f"{METRIC_TIME}{DUNDER}{finest.value}"]
