"""MetricFlow in-process on DuckDB, over the repo's own semantic YAML: the reference oracle.

No dbt-core: the manifest is the one our loader validates (:func:`parse_and_validate` over the
dbt-style files converted to one object per document), carried over to MetricFlow's fork of the
interfaces (``metricflow_semantic_interfaces``, same schema, its own classes and enums) as plain
data, then transformed the way MetricFlow expects (measures to simple metrics, ...).
:class:`DuckDbSqlClient` is MetricFlow's ``SqlClient`` protocol over one DuckDB connection.

Used by ``test_metricflow_differential.py`` and ``bench/bench_semantic.py``.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

import duckdb
from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantic_interfaces.implementations.semantic_manifest import (
    PydanticSemanticManifest as MetricFlowManifest,
)
from metricflow_semantic_interfaces.transformations.semantic_manifest_transformer import (
    PydanticSemanticManifestTransformer,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

from square_bi.semantic import default_semantic_dir
from square_bi.semantic.dbt_format import convert_dbt_sources
from square_bi.semantic.dsi import parse_and_validate
from square_bi.semantic.sources import read_yaml_sources

__all__ = ["DuckDbSqlClient", "MetricFlowQueryRequest", "metricflow_engine", "metricflow_manifest"]

_NO_PARAMETERS = SqlBindParameterSet()


class DuckDbSqlClient:
    """MetricFlow's ``SqlClient`` protocol over a DuckDB connection (bind parameters as ``$name``)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return self._renderer

    def query(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = _NO_PARAMETERS) -> MetricFlowDataTable:
        cursor = self._run(stmt, sql_bind_parameter_set)
        columns = [column[0] for column in cursor.description or []]
        return MetricFlowDataTable.create_from_rows(columns, cursor.fetchall())

    def execute(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = _NO_PARAMETERS) -> None:
        self._run(stmt, sql_bind_parameter_set)

    def dry_run(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = _NO_PARAMETERS) -> None:
        self._run(f"EXPLAIN {stmt}", sql_bind_parameter_set)

    def close(self) -> None:
        """The connection belongs to the caller."""

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"

    def _run(self, stmt: str, parameters: SqlBindParameterSet) -> duckdb.DuckDBPyConnection:
        values = dict(parameters.param_dict)
        return self.connection.execute(stmt, values) if values else self.connection.execute(stmt)


def metricflow_manifest(directory: Path | None = None) -> MetricFlowManifest:
    """Our validated manifest of ``directory`` (default: the repo's ``semantic/``), as MetricFlow's."""
    sources = read_yaml_sources(directory or default_semantic_dir())
    ours = parse_and_validate(convert_dbt_sources(sources))
    data = _without_metadata(json.loads(json.dumps(ours.dict(), default=_plain)))
    return PydanticSemanticManifestTransformer.transform(MetricFlowManifest.parse_obj(data))


def metricflow_engine(connection: duckdb.DuckDBPyConnection, directory: Path | None = None) -> MetricFlowEngine:
    return MetricFlowEngine(SemanticManifestLookup(metricflow_manifest(directory)), DuckDbSqlClient(connection))


def _plain(value: Any) -> Any:
    """Enums as their values; parsing contexts (file names and line numbers) dropped."""
    return value.value if isinstance(value, enum.Enum) else None


def _without_metadata(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_metadata(v) for k, v in value.items() if k != "metadata"}
    if isinstance(value, list):
        return [_without_metadata(v) for v in value]
    return value
