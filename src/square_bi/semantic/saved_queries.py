"""Saved queries (``saved_queries:`` in the semantic YAML), as metric queries we can run.

dbt-semantic-interfaces validates them when the layer loads; here each one's group-by entries
(``TimeDimension('metric_time', 'week')``, ``Dimension('location__name')``) become our dunder names.
Saved-query ``where`` filters (Jinja) are not supported yet and are refused at load with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from square_bi.errors import SemanticError, did_you_mean

_TIME = re.compile(r"""^\s*TimeDimension\(\s*['"]([a-z0-9_]+)['"]\s*,\s*['"]([a-z]+)['"]\s*\)\s*$""")
_DIMENSION = re.compile(r"""^\s*(?:Dimension|Entity)\(\s*['"]([a-z0-9_]+)['"]\s*\)\s*$""")


@dataclass(frozen=True)
class SavedQuery:
    name: str
    label: str
    description: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...]


def _group_by_name(entry: str, *, query: str, path: Path) -> str:
    if match := _TIME.match(entry):
        return f"{match.group(1)}__{match.group(2)}"
    if match := _DIMENSION.match(entry):
        return match.group(1)
    raise SemanticError(
        f"{path.name}: saved query {query!r}: cannot read group_by entry {entry!r}; "
        "use TimeDimension('metric_time', 'week') or Dimension('location__name')."
    )


def load_saved_queries(directory: Path) -> dict[str, SavedQuery]:
    """Every saved query in the folder's YAML files, by name."""
    found: dict[str, SavedQuery] = {}
    for path in sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")]):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("saved_queries") or []:
            name = str(item["name"])
            params = item.get("query_params") or {}
            if params.get("where"):
                raise SemanticError(
                    f"{path.name}: saved query {name!r} has a where filter; saved-query filters are not supported yet."
                )
            found[name] = SavedQuery(
                name=name,
                label=str(item.get("label") or name),
                description=" ".join(str(item.get("description") or "").split()),
                metrics=tuple(str(m) for m in params.get("metrics") or []),
                group_by=tuple(_group_by_name(str(g), query=name, path=path) for g in params.get("group_by") or []),
            )
    return found


def saved_query(queries: dict[str, SavedQuery], name: str) -> SavedQuery:
    if name not in queries:
        raise SemanticError(did_you_mean(name, queries, kind="saved query"))
    return queries[name]
