"""Parse and validate converted documents with dbt-semantic-interfaces.

Returns the manifest as declared (before dbt-semantic-interfaces' transformations, which e.g. turn
``count`` measures into ``sum`` of a CASE); validation runs on a transformed copy, as that library
expects. Its issues are mapped back to the dbt-style file and line they concern.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import yaml
from dbt_semantic_interfaces.implementations.semantic_manifest import PydanticSemanticManifest
from dbt_semantic_interfaces.parsing.dir_to_model import parse_yaml_files_to_semantic_manifest
from dbt_semantic_interfaces.parsing.objects import YamlConfigFile
from dbt_semantic_interfaces.transformations.semantic_manifest_transformer import (
    PydanticSemanticManifestTransformer,
)
from dbt_semantic_interfaces.validations.semantic_manifest_validator import SemanticManifestValidator
from dbt_semantic_interfaces.validations.validator_helpers import (
    FileContext,
    MetricContext,
    SemanticModelContext,
    SemanticModelElementContext,
    ValidationIssue,
    ValidationIssueContext,
)

from square_bi.semantic.dbt_format import DsiDocument
from square_bi.semantic.errors import SemanticYamlError, YamlIssue

__all__ = ["parse_and_validate"]

# The library logs warnings ("Measure x not found ...") that duplicate its validation errors; with
# no handler configured anywhere Python would print them to stderr. Applications' handlers still
# receive them.
logging.getLogger("dbt_semantic_interfaces").addHandler(logging.NullHandler())

_ELEMENT_LISTS = {"measure": "measures", "dimension": "dimensions", "entity": "entities"}
_MAX_MESSAGE = 400


def parse_and_validate(documents: Sequence[DsiDocument]) -> PydanticSemanticManifest:
    """The declared manifest; raise :class:`SemanticYamlError` for any blocking issue."""
    keyed = {f"doc{index}": document for index, document in enumerate(documents)}
    files = [
        YamlConfigFile(filepath=key, contents=yaml.safe_dump({doc.kind: doc.body}, sort_keys=False), url=None)
        for key, doc in keyed.items()
    ]
    try:
        built = parse_yaml_files_to_semantic_manifest(files)
    except Exception as error:  # the library raises bare exceptions for malformed input
        raise SemanticYamlError([YamlIssue(None, None, _condense(str(error)))]) from error
    if built.issues.has_blocking_issues:
        raise SemanticYamlError(_locate_all(built.issues.errors, keyed))
    manifest = built.semantic_manifest
    try:
        transformed = PydanticSemanticManifestTransformer.transform(manifest)
    except Exception as error:  # e.g. "Measure 'x' uses a COUNT aggregation, which requires an expr"
        raise SemanticYamlError([_locate_by_message(_condense(str(error)), keyed)]) from error
    results = SemanticManifestValidator[PydanticSemanticManifest]().validate_semantic_manifest(transformed)
    if results.has_blocking_issues:
        raise SemanticYamlError(_locate_all(results.errors, keyed))
    return manifest


def _locate_all(issues: Iterable[ValidationIssue], keyed: dict[str, DsiDocument]) -> list[YamlIssue]:
    located = [_locate(issue, keyed) for issue in issues]
    return list(dict.fromkeys(located))  # the library reports some problems twice


def _locate(issue: ValidationIssue, keyed: dict[str, DsiDocument]) -> YamlIssue:
    message = _condense(issue.message)
    context = issue.context
    document: DsiDocument | None = None
    subpath: tuple[str | int, ...] = ()
    if isinstance(context, MetricContext):
        document = _find(keyed, "metric", context.metric.metric_name)
    elif isinstance(context, SemanticModelElementContext):
        element = context.semantic_model_element
        document = _find(keyed, "semantic_model", element.semantic_model_name)
        if document is not None:
            subpath = _element_path(document, context.element_type.value, element.element_name)
    elif isinstance(context, SemanticModelContext):
        document = _find(keyed, "semantic_model", context.semantic_model.semantic_model_name)
    elif isinstance(context, ValidationIssueContext):
        document = _find(keyed, context.object_type, context.object_name)
    file_context = context if isinstance(context, FileContext) else getattr(context, "file_context", None)
    if document is None and file_context is not None:
        document = keyed.get(file_context.file_name or "")
    if document is None:
        return _locate_by_message(message, keyed)
    return document.origin.issue(message, *subpath)


def _locate_by_message(message: str, keyed: dict[str, DsiDocument]) -> YamlIssue:
    """For issues without a context: the object (or element) whose quoted name the message cites."""
    for document in (d for d in keyed.values() if d.kind == "semantic_model"):
        for key in _ELEMENT_LISTS.values():
            for index, element in enumerate(document.body.get(key, [])):
                if _cites(message, str(element.get("name", ""))):
                    return document.origin.issue(message, key, index)
    for document in keyed.values():
        if document.name and _cites(message, document.name):
            return document.origin.issue(message)
    return YamlIssue(None, None, message)


def _cites(message: str, name: str) -> bool:
    return bool(name) and any(f"{quote}{name}{quote}" in message for quote in ("'", "`", '"'))


def _find(keyed: dict[str, DsiDocument], kind: str, name: str) -> DsiDocument | None:
    wanted = name.lower()
    return next((d for d in keyed.values() if d.kind == kind and (d.name or "").lower() == wanted), None)


def _element_path(document: DsiDocument, element_type: str, name: str) -> tuple[str | int, ...]:
    key = _ELEMENT_LISTS.get(element_type)
    if key is None:
        return ()
    for index, element in enumerate(document.body.get(key, [])):
        if str(element.get("name", "")).lower() == name.lower():
            return (key, index)
    return (key,)


def _condense(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
