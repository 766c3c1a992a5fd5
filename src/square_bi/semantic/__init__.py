"""The semantic layer: dbt-format metric YAML -> validated index -> sqlglot SQL -> rows.

Typical use::

    layer = load_semantic_layer()  # semantic/ at the repo root, or the packaged copy
    result = run_query(connection, layer, MetricQuery(metrics=["gross_sales"], group_by=["metric_time__week"]))
"""

from square_bi.semantic.compiler import PASSES, build_select, compile_query, to_sql
from square_bi.semantic.errors import (
    SemanticQueryError,
    SemanticYamlError,
    UnknownNameError,
    UnsupportedQueryError,
    YamlIssue,
)
from square_bi.semantic.loader import default_semantic_dir, load_semantic_layer
from square_bi.semantic.model import (
    Dimension,
    DimensionGroupBy,
    GroupBy,
    Measure,
    Metric,
    MetricTimeGroupBy,
    SemanticLayer,
    SemanticModel,
    TimeGrain,
    Unit,
)
from square_bi.semantic.query import MetricQuery
from square_bi.semantic.runner import MetricInfo, QueryResult, run_query

__all__ = [
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
