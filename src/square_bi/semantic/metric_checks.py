"""Checks of the metric graph, run on converted documents before dbt-semantic-interfaces sees them.

- every metric type has its inputs (``measure``; ``numerator`` and ``denominator``; ``expr`` and
  ``metrics``), reported at the metric's ``type_params`` with what to write;
- time periods (``grain_to_date``, ``window``, ``offset_window``) name a grain we know, with the
  nearest one (dbt-semantic-interfaces only says the grain is invalid);
- no metric depends on itself (dbt-semantic-interfaces recurses without end on a cycle), reported
  at the metric with the cycle spelt out.

Unknown metric and measure names are :mod:`checks`' business; here they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from square_bi.errors import did_you_mean
from square_bi.semantic.dbt_format import DsiDocument
from square_bi.semantic.errors import YamlIssue
from square_bi.semantic.model import TimeGrain

__all__ = ["metric_graph_issues"]

_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "simple": ("measure",),
    "ratio": ("numerator", "denominator"),
    "derived": ("expr", "metrics"),
}
_GRAINS = [grain.value for grain in TimeGrain]


def metric_graph_issues(metrics: Sequence[DsiDocument]) -> Iterator[YamlIssue]:
    by_name = {str(d.name): d for d in metrics if d.name}
    for metric in metrics:
        yield from _input_issues(metric, by_name)
        yield from _period_issues(metric)
    reported: set[frozenset[str]] = set()
    for name in by_name:
        cycle = _cycle_from(name, by_name, ())
        if cycle is not None and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            yield by_name[name].origin.issue(
                f"metric {name!r} depends on itself: {' -> '.join(cycle)}; a metric may use only other metrics"
            )


def _input_issues(metric: DsiDocument, by_name: Mapping[str, DsiDocument]) -> Iterator[YamlIssue]:
    kind = str(metric.body.get("type", "")).lower()
    params = metric.body.get("type_params")
    params = params if isinstance(params, dict) else {}
    needed = _REQUIRED.get(kind, ())
    if kind == "cumulative" and "metric" not in params:
        needed = ("measure",)
    missing = [key for key in needed if not params.get(key)]
    if missing:
        example = {
            "measure": "a measure",
            "numerator": "a metric",
            "denominator": "a metric",
            "expr": "SQL over the input metrics",
            "metrics": "the input metrics",
        }
        wanted = ", ".join(f"`{key}:` ({example[key]})" for key in missing)
        others = sorted(n for n in by_name if n != metric.name)
        hint = f" Metrics: {others}." if any(k in ("numerator", "denominator", "metrics") for k in missing) else ""
        yield metric.origin.issue(
            f"{kind} metric {metric.name!r} needs {wanted} under `type_params:`.{hint}", "type_params"
        )


def _period_issues(metric: DsiDocument) -> Iterator[YamlIssue]:
    params = metric.body.get("type_params")
    if not isinstance(params, dict):
        return
    places: list[tuple[tuple[str | int, ...], Any, bool]] = [
        (("type_params", "grain_to_date"), params.get("grain_to_date"), False),
        (("type_params", "window"), params.get("window"), True),
    ]
    cumulative = params.get("cumulative_type_params")
    if isinstance(cumulative, dict):
        at = ("type_params", "cumulative_type_params")
        places += [((*at, "grain_to_date"), cumulative.get("grain_to_date"), False)]
        places += [((*at, "window"), cumulative.get("window"), True)]
    for key in ("numerator", "denominator"):
        if isinstance(params.get(key), dict):
            places.append((("type_params", key, "offset_window"), params[key].get("offset_window"), True))
    for index, item in enumerate(params.get("metrics") or []):
        if isinstance(item, dict):
            places.append((("type_params", "metrics", index, "offset_window"), item.get("offset_window"), True))
    for path, value, counted in places:
        message = _period_problem(value, counted)
        if message is not None:
            yield metric.origin.issue(f"in metric {metric.name!r}: {message}", *path)


def _period_problem(value: Any, counted: bool) -> str | None:
    """``month`` (``counted`` False) or ``1 week`` / ``7 days`` (``counted`` True), else what is wrong."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if counted:
        count, _, grain = text.partition(" ")
        if not count.isdigit() or not grain:
            return f"{value!r} is not a period: write a whole number and a grain, e.g. '1 week' or '7 days'"
        text = grain.strip()
        text = text[:-1] if text.endswith("s") and text[:-1] in _GRAINS else text
    if text in _GRAINS:
        return None
    return did_you_mean(text, _GRAINS, kind="time grain")


def _cycle_from(name: str, by_name: Mapping[str, DsiDocument], path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The first dependency cycle through ``name`` (as a path back to ``name``), else ``None``."""
    if name in path:
        return (*path[path.index(name) :], name) if path[0] == name else None
    document = by_name.get(name)
    if document is None:
        return None
    for child in _inputs(document):
        found = _cycle_from(child, by_name, (*path, name))
        if found is not None:
            return found
    return None


def _inputs(document: DsiDocument) -> list[str]:
    params = document.body.get("type_params")
    if not isinstance(params, dict):
        return []
    items = [params.get("numerator"), params.get("denominator"), params.get("metric"), *(params.get("metrics") or [])]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str):
            names.append(name)
    return names
