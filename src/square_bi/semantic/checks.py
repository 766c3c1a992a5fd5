"""Checks run on converted documents before dbt-semantic-interfaces sees them.

They report every problem at its own line and, for a wrong name, the valid names and the nearest
one: dbt-semantic-interfaces' JSON schemas (all their errors, not only the first), references
between objects (metric -> measure, metric -> metric, agg_time_dimension -> time dimension),
square-bi's own ``config.meta`` keys (``unit``, ``synonyms``, ``currency_dimension``) and the
metric graph (:mod:`metric_checks`: missing inputs, time periods, cycles).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jsonschema
from dbt_semantic_interfaces.parsing.schemas import (
    metric_validator,
    project_configuration_validator,
    saved_query_validator,
    semantic_model_validator,
)

from square_bi.errors import did_you_mean
from square_bi.semantic.dbt_format import DocumentKind, DsiDocument
from square_bi.semantic.errors import SemanticYamlError, YamlIssue
from square_bi.semantic.metric_checks import metric_graph_issues
from square_bi.semantic.model import Unit
from square_bi.semantic.sources import YamlPath

__all__ = ["check_documents"]

_VALIDATORS: Mapping[DocumentKind, Any] = {
    "semantic_model": semantic_model_validator,
    "metric": metric_validator,
    "saved_query": saved_query_validator,
    "project_configuration": project_configuration_validator,
}
_INTERNAL_KEY = re.compile(r"^__(.+)__$")
_MONEY_AGGS = ("sum", "min", "max", "average")


def check_documents(documents: Sequence[DsiDocument]) -> None:
    """Raise :class:`SemanticYamlError` listing every schema, reference and meta problem."""
    issues = [issue for document in documents for issue in _schema_issues(document)]
    if not issues:
        issues = list(_reference_issues(documents))
    if issues:
        raise SemanticYamlError(issues)


# -- JSON schema ------------------------------------------------------------------------------


def _schema_issues(document: DsiDocument) -> Iterator[YamlIssue]:
    validator = _VALIDATORS[document.kind]
    errors = sorted(validator.iter_errors(document.body), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        path = _source_path(document, tuple(error.absolute_path))
        where = f"{document.kind} {document.name!r}" if document.name else document.kind
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            shown = allowed
            if document.kind == "semantic_model" and not path:  # dbt style says model: ref(...)
                shown = sorted("model" if key == "node_relation" else key for key in allowed)
            for extra in sorted(k for k in error.instance if k not in allowed and not _INTERNAL_KEY.match(k)):
                message = did_you_mean(str(extra), shown, kind="key")
                yield document.origin.issue(f"in {where}: {message}", *path, extra)
        else:
            yield document.origin.issue(f"in {where}: {_describe(error, path)}", *path)


def _describe(error: jsonschema.ValidationError, path: YamlPath) -> str:
    field = next((str(step) for step in reversed(path) if isinstance(step, str)), "value")
    if error.validator == "enum":
        choices = [str(v) for v in error.validator_value if str(v) == str(v).lower()]
        return did_you_mean(str(error.instance), choices, kind=f"`{field}`")
    if error.validator == "pattern":
        return (
            f"{error.instance!r} is not a valid `{field}`: use lowercase letters, digits and single "
            "underscores, starting with a letter"
        )
    if error.validator in ("oneOf", "anyOf") and error.context:
        return jsonschema.exceptions.best_match(error.context).message
    return error.message


def _source_path(document: DsiDocument, path: YamlPath) -> YamlPath:
    """Path in the dbt-style source for a path in the converted body."""
    if document.kind == "project_configuration":
        return ()
    if path[:1] == ("node_relation",):
        return ("model",)
    return path


# -- references and meta ----------------------------------------------------------------------


def _reference_issues(documents: Sequence[DsiDocument]) -> Iterator[YamlIssue]:
    models = [d for d in documents if d.kind == "semantic_model"]
    metrics = [d for d in documents if d.kind == "metric"]
    measures: dict[str, tuple[DsiDocument, dict[str, Any]]] = {
        m["name"]: (d, m) for d in models for m in d.body.get("measures", [])
    }
    metric_names = [str(d.name) for d in metrics]
    for model in models:
        yield from _model_issues(model)
    for metric in metrics:
        yield from _metric_issues(metric, measures, metric_names)
    yield from metric_graph_issues(metrics)


def _model_issues(model: DsiDocument) -> Iterator[YamlIssue]:
    body = model.body
    dimensions = body.get("dimensions", [])
    time_dims = [d["name"] for d in dimensions if str(d.get("type")).lower() == "time"]
    categorical = [d["name"] for d in dimensions if str(d.get("type")).lower() == "categorical"]
    default = (body.get("defaults") or {}).get("agg_time_dimension")
    if default is not None and default not in time_dims:
        message = did_you_mean(default, time_dims, kind="agg_time_dimension (time dimension)")
        yield model.origin.issue(message, "defaults", "agg_time_dimension")
    for index, measure in enumerate(body.get("measures", [])):
        at = ("measures", index)
        agg_time = measure.get("agg_time_dimension")
        if agg_time is not None and agg_time not in time_dims:
            message = did_you_mean(agg_time, time_dims, kind="agg_time_dimension (time dimension)")
            yield model.origin.issue(message, *at, "agg_time_dimension")
        if agg_time is None and default is None:
            yield model.origin.issue(
                f"measure {measure['name']!r} has no time dimension: set `defaults: {{agg_time_dimension: "
                "...}}` on the semantic model or `agg_time_dimension:` on the measure",
                *at,
            )
        meta = _meta(measure)
        unit = meta.get("unit", Unit.NUMBER.value)
        if unit not in [u.value for u in Unit]:
            yield model.origin.issue(
                did_you_mean(str(unit), [u.value for u in Unit], kind="unit"), *at, "config", "meta", "unit"
            )
            continue
        if unit == Unit.MONEY and str(measure.get("agg")).lower() not in _MONEY_AGGS:
            yield model.origin.issue(
                f"money measure {measure['name']!r} must aggregate with one of {list(_MONEY_AGGS)}", *at, "agg"
            )
        currency = meta.get("currency_dimension")
        if unit == Unit.MONEY and currency not in categorical:
            message = did_you_mean(str(currency), categorical, kind="currency_dimension (categorical dimension)")
            yield model.origin.issue(
                f"money measure {measure['name']!r} needs config.meta.currency_dimension naming the "
                f"dimension that holds its ISO currency. {message}",
                *at,
                "config",
                "meta",
                "currency_dimension",
            )


def _metric_issues(
    metric: DsiDocument, measures: Mapping[str, tuple[DsiDocument, dict[str, Any]]], metric_names: list[str]
) -> Iterator[YamlIssue]:
    params = metric.body.get("type_params") or {}
    measure_name = _input_name(params.get("measure"))
    if measure_name is not None and measure_name not in measures:
        message = did_you_mean(measure_name, measures, kind="measure")
        yield metric.origin.issue(f"in metric {metric.name!r}: {message}", "type_params", "measure")
    for key in ("numerator", "denominator"):
        name = _input_name(params.get(key))
        if name is not None and name not in metric_names:
            message = did_you_mean(name, metric_names, kind="metric")
            yield metric.origin.issue(f"in metric {metric.name!r}: {message}", "type_params", key)
    for index, item in enumerate(params.get("metrics") or []):
        name = _input_name(item)
        if name is not None and name not in metric_names:
            message = did_you_mean(name, metric_names, kind="metric")
            yield metric.origin.issue(f"in metric {metric.name!r}: {message}", "type_params", "metrics", index)
    meta = _meta(metric.body)
    unit = meta.get("unit")
    units = [u.value for u in Unit]
    if unit is not None and unit not in units:
        message = did_you_mean(str(unit), units, kind="unit")
        yield metric.origin.issue(f"in metric {metric.name!r}: {message}", "config", "meta", "unit")
    elif unit is not None and measure_name is not None and measure_name in measures:
        measure_unit = _meta(measures[measure_name][1]).get("unit", Unit.NUMBER.value)
        if (unit == Unit.MONEY) != (measure_unit == Unit.MONEY):
            yield metric.origin.issue(
                f"metric {metric.name!r} has unit {unit!r} but its measure {measure_name!r} has unit "
                f"{measure_unit!r}: money metrics need money measures and the other way round",
                "config",
                "meta",
                "unit",
            )
    synonyms = meta.get("synonyms", [])
    if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
        yield metric.origin.issue(
            f"metric {metric.name!r}: config.meta.synonyms must be a list of strings", "config", "meta", "synonyms"
        )


def _input_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    return None


def _meta(element: Mapping[str, Any]) -> dict[str, Any]:
    config = element.get("config") or {}
    meta = config.get("meta") if isinstance(config, dict) else None
    return meta if isinstance(meta, dict) else {}
