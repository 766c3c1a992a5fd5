"""The compiler's first step: resolve every name of a query against the layer, before any SQL.

An unknown or hostile name raises :class:`UnknownNameError` listing the valid ones (and the
nearest); a name that exists but cannot serve every metric asked for raises
:class:`UnsupportedQueryError` saying why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from square_bi.semantic.errors import UnknownNameError, UnsupportedQueryError
from square_bi.semantic.model import GroupBy, Measure, Metric, SemanticLayer, SemanticModel
from square_bi.semantic.query import Filter, MetricQuery

__all__ = ["OrderBy", "ResolvedFilter", "ResolvedQuery", "resolve_query"]


@dataclass(frozen=True)
class OrderBy:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class ResolvedFilter:
    """A filter whose dimension name is canonical (``metric_time`` -> ``metric_time__day``)."""

    name: str
    filter: Filter


@dataclass(frozen=True)
class ResolvedQuery:
    """A query whose every name is a layer object; the metrics may come from several sources."""

    metrics: tuple[Metric, ...]
    sources: tuple[SemanticModel, ...]
    """Semantic models holding the metrics' measures, in order of first use."""
    group_by: tuple[str, ...]
    """Canonical group-by names, each resolvable in every source."""
    where: tuple[ResolvedFilter, ...]
    order_by: tuple[OrderBy, ...]
    limit: int | None
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def source(self) -> SemanticModel:
        """The first source (the only one for single-fact queries)."""
        return self.sources[0]


def _normal(name: str) -> str:
    return name.strip().lower()


def resolve_query(layer: SemanticLayer, query: MetricQuery) -> ResolvedQuery:
    metrics = tuple({m.name: m for m in (layer.metric(_normal(n)) for n in query.metrics)}.values())
    for metric in metrics:
        _check_supported(layer, metric)
    measures = [measure for metric in metrics for measure in layer.measures_of(metric)]
    sources = tuple(layer.semantic_models[name] for name in dict.fromkeys(m.semantic_model for m in measures))
    group_by = tuple(dict.fromkeys(_canonical(layer, raw, metrics, sources, measures) for raw in query.group_by))
    where = tuple(
        ResolvedFilter(
            _canonical(layer, f.dimension, metrics, sources, measures, use="filter on", kind="filter dimension"), f
        )
        for f in query.where
    )
    order_by = _resolve_order_by(query.order_by, layer, sources, metrics, group_by)
    return ResolvedQuery(metrics, sources, group_by, where, order_by, query.limit, query.start, query.end)


def _check_supported(layer: SemanticLayer, metric: Metric, seen: tuple[str, ...] = ()) -> None:
    if metric.unsupported is not None:
        outer = f" (needed by {seen[0]!r})" if seen else ""
        raise UnsupportedQueryError(f"Metric {metric.name!r}{outer} cannot be answered yet: {metric.unsupported}.")
    for item in layer.input_metrics_of(metric):
        _check_supported(layer, layer.metric(item.name), seen or (metric.name,))


def _canonical(
    layer: SemanticLayer,
    raw: str,
    metrics: Sequence[Metric],
    sources: Sequence[SemanticModel],
    measures: Sequence[Measure],
    *,
    use: str = "group by",
    kind: str = "group_by dimension",
) -> str:
    name = _normal(raw)
    found = {source.name: layer.group_bys.get(source.name, {}).get(name) for source in sources}
    known = [item for item in found.values() if item is not None]
    if not known:
        hint = f"{raw!r} is a metric: put it in metrics, not group_by." if name in layer.metrics else ""
        valid = layer.group_bys_for(m.name for m in metrics)
        raise UnknownNameError(raw, valid, kind=kind, hint=hint)
    missing = [source for source, item in found.items() if item is None]
    if missing:
        blocked = sorted({m.name for m in metrics if _uses(layer, m, missing)})
        raise UnsupportedQueryError(
            f"Cannot {use} {raw!r} for {blocked}: their table ({', '.join(missing)}) has no path to it "
            f"(no many-to-one join reaches it), so no correct number exists. Ask for those metrics without "
            f"{raw!r}, or ask for {raw!r} with other metrics."
        )
    return known[0].name


def _uses(layer: SemanticLayer, metric: Metric, sources: Iterable[str]) -> bool:
    wanted = set(sources)
    return any(m.semantic_model in wanted for m in layer.measures_of(metric))


def _resolve_order_by(
    names: Sequence[str],
    layer: SemanticLayer,
    sources: Sequence[SemanticModel],
    metrics: Sequence[Metric],
    group_by: Sequence[str],
) -> tuple[OrderBy, ...]:
    selected = [m.name for m in metrics] + list(group_by)
    available: Mapping[str, GroupBy] = layer.group_bys.get(sources[0].name, {})
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
