"""Convert dbt-style semantic YAML to dbt-semantic-interfaces' one-object-per-document form.

dbt files hold lists (``semantic_models:``, ``metrics:``, ``saved_queries:``) and point at tables
with ``model: ref('<table>')``; the time spine is a dbt model property (``models: [{name,
time_spine: {standard_granularity_column}, columns: [{name, granularity}]}]``, dbt >= 1.9).
dbt-semantic-interfaces wants ``semantic_model:`` / ``metric:`` / ``saved_query:`` documents with
``node_relation: {alias, schema_name}`` and exactly one ``project_configuration`` with
``time_spines``. Every converted document keeps the :class:`Origin` it came from, for error lines.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from square_bi.errors import did_you_mean
from square_bi.semantic.errors import SemanticYamlError, YamlIssue
from square_bi.semantic.sources import Origin, YamlSource

__all__ = ["DEFAULT_SCHEMA", "DocumentKind", "DsiDocument", "convert_dbt_sources"]

DEFAULT_SCHEMA = "main"
"""Schema the star-schema tables live in (DuckDB's default schema)."""

DocumentKind = Literal["semantic_model", "metric", "saved_query", "project_configuration"]

_LIST_KEYS: dict[str, DocumentKind] = {
    "semantic_models": "semantic_model",
    "metrics": "metric",
    "saved_queries": "saved_query",
}
_TOP_LEVEL_KEYS = ("version", "models", *_LIST_KEYS)
_REF = re.compile(r"""^\s*ref\(\s*(?:['"][A-Za-z0-9_]+['"]\s*,\s*)?['"]([A-Za-z0-9_]+)['"]\s*\)\s*$""")


@dataclass(frozen=True)
class DsiDocument:
    """One object in dbt-semantic-interfaces' form, and where its dbt-style source is."""

    kind: DocumentKind
    body: dict[str, Any]
    origin: Origin

    @property
    def name(self) -> str | None:
        name = self.body.get("name")
        return name if isinstance(name, str) else None


def convert_dbt_sources(sources: Sequence[YamlSource], *, schema: str = DEFAULT_SCHEMA) -> list[DsiDocument]:
    """All objects of all files, plus the one project configuration; raise if any is malformed."""
    issues: list[YamlIssue] = []
    documents: list[DsiDocument] = []
    spines: list[tuple[dict[str, Any], Origin]] = []
    for source in sources:
        if source.data is None:
            continue
        if not isinstance(source.data, dict):
            issues.append(YamlIssue(source.path, 1, "must be a mapping with semantic_models: / metrics: lists"))
            continue
        for key, value in source.data.items():
            top = Origin(source, (key,))
            if key not in _TOP_LEVEL_KEYS:
                issues.append(top.issue(did_you_mean(str(key), _TOP_LEVEL_KEYS, kind="top-level key")))
                continue
            if key == "version":
                continue
            if not isinstance(value, list):
                issues.append(top.issue(f"`{key}:` must be a list"))
                continue
            for index, item in enumerate(value):
                origin = Origin(source, (key, index))
                if not isinstance(item, dict):
                    issues.append(origin.issue(f"each entry of `{key}:` must be a mapping"))
                elif key == "models":
                    if "time_spine" in item:
                        spines.append((item, origin))
                elif key == "semantic_models":
                    body = _semantic_model_body(item, origin, schema, issues)
                    documents.append(DsiDocument("semantic_model", body, origin))
                elif key == "metrics":
                    documents.append(DsiDocument("metric", _metric_body(item), origin))
                else:
                    documents.append(DsiDocument(_LIST_KEYS[key], copy.deepcopy(item), origin))
    documents.extend(_project_configuration(spines, sources, schema, issues))
    if issues:
        raise SemanticYamlError(issues)
    return documents


def _semantic_model_body(item: dict[str, Any], origin: Origin, schema: str, issues: list[YamlIssue]) -> dict[str, Any]:
    body = copy.deepcopy(item)
    if "node_relation" in body:
        return body
    model = body.pop("model", None)
    match = _REF.match(model) if isinstance(model, str) else None
    if match is None:
        where = ("model",) if model is not None else ()
        issues.append(origin.issue("needs `model: ref('<table>')` naming a star-schema table", *where))
        return body
    body["node_relation"] = {"alias": match.group(1), "schema_name": schema}
    return body


def _metric_body(item: dict[str, Any]) -> dict[str, Any]:
    """dbt accepts a bare metric name for a ratio's numerator / denominator and in a derived
    metric's ``metrics:`` list; dbt-semantic-interfaces wants ``{name: ...}`` mappings."""
    body = copy.deepcopy(item)
    params = body.get("type_params")
    if not isinstance(params, dict):
        return body
    for key in ("numerator", "denominator"):
        if isinstance(params.get(key), str):
            params[key] = {"name": params[key]}
    if isinstance(params.get("metrics"), list):
        params["metrics"] = [{"name": m} if isinstance(m, str) else m for m in params["metrics"]]
    return body


def _project_configuration(
    spines: list[tuple[dict[str, Any], Origin]],
    sources: Sequence[YamlSource],
    schema: str,
    issues: list[YamlIssue],
) -> list[DsiDocument]:
    if not spines:
        file = sources[0].path.parent if sources else None
        issues.append(
            YamlIssue(
                file,
                None,
                "declares no time spine: add `models: [{name: dim_date, time_spine: "
                "{standard_granularity_column: date_day}, columns: [{name: date_day, granularity: day}]}]`",
            )
        )
        return []
    time_spines = []
    for model, origin in spines:
        spine = _time_spine(model, origin, schema, issues)
        if spine is not None:
            time_spines.append(spine)
    body: dict[str, Any] = {"time_spines": time_spines}
    return [DsiDocument("project_configuration", body, spines[0][1])]


def _time_spine(model: dict[str, Any], origin: Origin, schema: str, issues: list[YamlIssue]) -> dict[str, Any] | None:
    name = model.get("name")
    config = model.get("time_spine")
    if not isinstance(name, str) or not isinstance(config, dict):
        issues.append(origin.issue("a time spine model needs `name:` and a `time_spine:` mapping"))
        return None
    column_name = config.get("standard_granularity_column")
    columns = model.get("columns") or []
    column = next((c for c in columns if isinstance(c, dict) and c.get("name") == column_name), None)
    if column is None or "granularity" not in column:
        issues.append(
            origin.issue(
                f"time spine {name!r} needs `standard_granularity_column:` and that column listed under "
                "`columns:` with a `granularity:`",
                "time_spine",
            )
        )
        return None
    spine: dict[str, Any] = {
        "node_relation": {"alias": name, "schema_name": schema},
        "primary_column": {"name": column_name, "time_granularity": column["granularity"]},
    }
    if config.get("custom_granularities"):
        spine["custom_granularities"] = copy.deepcopy(config["custom_granularities"])
    return spine
