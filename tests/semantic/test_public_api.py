from __future__ import annotations

import ast
from pathlib import Path

import square_bi.semantic

PACKAGE = Path(square_bi.semantic.__file__).parent


def test_the_public_names_are_pinned() -> None:
    assert sorted(square_bi.semantic.__all__) == sorted(
        [
            "PASSES",
            "Dimension",
            "DimensionGroupBy",
            "GroupBy",
            "Measure",
            "Metric",
            "MetricInfo",
            "MetricQuery",
            "MetricTimeGroupBy",
            "QueryResult",
            "SemanticLayer",
            "SemanticModel",
            "SemanticQueryError",
            "SemanticYamlError",
            "TimeGrain",
            "Unit",
            "UnknownNameError",
            "UnsupportedQueryError",
            "YamlIssue",
            "build_select",
            "compile_query",
            "default_semantic_dir",
            "load_semantic_layer",
            "run_query",
            "to_sql",
        ]
    )
    for name in square_bi.semantic.__all__:
        assert hasattr(square_bi.semantic, name), name


def test_the_semantic_layer_imports_no_later_stage_of_the_pipeline() -> None:
    later = ("square_bi.server", "square_bi.cli", "square_bi.extract", "square_bi.square", "square_bi.warehouse")
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text())
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        ]
        offending = [name for name in imported if name.startswith(later)]
        assert offending == [], f"{module.name} imports {offending}"
