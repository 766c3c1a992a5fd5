"""Load the semantic YAML (dbt format) into a validated, resolved :class:`SemanticLayer`.

files -> :mod:`sources` (data + node tree for lines) -> :mod:`dbt_format` (dbt style to
dbt-semantic-interfaces documents) -> :mod:`checks` (schemas, references, meta, with suggestions)
-> :mod:`dsi` (dbt-semantic-interfaces parse + validate) -> :mod:`index` (our resolved index).
Every stage raises :class:`SemanticYamlError` naming file, line and, for names, the nearest ones.
"""

from __future__ import annotations

from pathlib import Path

from square_bi.semantic.checks import check_documents
from square_bi.semantic.dbt_format import convert_dbt_sources
from square_bi.semantic.dsi import parse_and_validate
from square_bi.semantic.index import build_layer
from square_bi.semantic.model import SemanticLayer
from square_bi.semantic.sources import read_yaml_sources

__all__ = ["default_semantic_dir", "load_semantic_layer"]


def default_semantic_dir() -> Path:
    """The repo-root ``semantic/`` in a checkout, else the copy packaged as ``square_bi/_semantic``."""
    here = Path(__file__).resolve()
    checkout_root = here.parents[3]
    if (checkout_root / "pyproject.toml").is_file() and (checkout_root / "semantic").is_dir():
        return checkout_root / "semantic"
    return here.parents[1] / "_semantic"


def load_semantic_layer(directory: Path | None = None) -> SemanticLayer:
    """Read every ``*.yml`` / ``*.yaml`` in ``directory`` (default: :func:`default_semantic_dir`)."""
    directory = Path(directory) if directory is not None else default_semantic_dir()
    sources = read_yaml_sources(directory)
    documents = convert_dbt_sources(sources)
    check_documents(documents)
    manifest = parse_and_validate(documents)
    return build_layer(directory, manifest, documents)
