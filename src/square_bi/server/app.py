"""The MCP server: a thin layer of tools over ``service.py``.

Tools return pydantic models (structured content) with a markdown table as their text, carry
``readOnlyHint``, and turn every expected failure into a tool error the model can correct from
(unknown names come back with the valid ones and the nearest match).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from square_bi import __version__
from square_bi.errors import SquareBIError
from square_bi.semantic import SemanticLayer, default_semantic_dir, load_semantic_layer
from square_bi.server import service
from square_bi.server.arguments import name_list
from square_bi.server.results import MetricList, QueryMetricsResult, RunSyncResult, SyncStatus, markdown_table
from square_bi.server.scheduler import SyncScheduler

log = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)

INSTRUCTIONS = """\
Answers questions about a Square merchant's sales from a local warehouse.
Call list_metrics to see what can be measured, then query_metrics with metric names and optional
group_by dimensions (metric_time__day, metric_time__week, metric_time__month, location__name, ...).
Money is returned as exact decimal strings in major units with the currency listed in the result.
Dates are business dates: when the order closed, in the location's local time zone."""


@dataclass(frozen=True)
class AppState:
    db_path: Path
    layer: SemanticLayer
    scheduler: SyncScheduler | None = None
    """Keeps the data fresh in this process; None when serving only (no token, or --no-sync)."""


def build_server(
    db_path: Path, semantic_dir: Path | None = None, *, scheduler: SyncScheduler | None = None
) -> MCPServer[AppState]:
    """The square-bi MCP server answering from ``db_path`` (its serving snapshot)."""
    layer = load_semantic_layer(semantic_dir or default_semantic_dir())
    state = AppState(db_path=db_path, layer=layer, scheduler=scheduler)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        yield state

    server: MCPServer[AppState] = MCPServer(
        "square-bi", version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan
    )

    @server.tool(annotations=READ_ONLY)
    def list_metrics(search: str | None = None) -> MetricList:
        """List the metrics that can be queried (name, label, one-line definition, type, unit).

        search: optional words matched against names, labels and synonyms, e.g. "revenue".
        """
        return service.list_metrics(state.layer, search)

    @server.tool(annotations=READ_ONLY)
    def query_metrics(
        metrics: list[str] | str,
        group_by: list[str] | str | None = None,
        order_by: list[str] | str | None = None,
        limit: int | None = None,
    ) -> Annotated[CallToolResult, QueryMetricsResult]:
        """Compute metrics, optionally grouped by dimensions.

        metrics: metric names from list_metrics, e.g. ["gross_sales", "order_count"].
        group_by: dimensions, e.g. ["metric_time__week", "location__name"]. Time grains:
            metric_time__day, metric_time__week (ISO weeks from Monday), metric_time__month.
        order_by: selected names; prefix "-" for descending, e.g. ["-gross_sales"].
        limit: maximum rows (default 100, at most 5000). If limit_hit is true, more rows exist:
            do not add the returned rows up into a total; query without the grouping instead.
        """
        try:
            result = service.query_metrics(
                state.db_path,
                state.layer,
                metrics=name_list(metrics, argument="metrics"),
                group_by=name_list(group_by, argument="group_by"),
                order_by=name_list(order_by, argument="order_by"),
                limit=limit,
            )
        except SquareBIError as exc:
            raise ToolError(str(exc)) from exc
        return CallToolResult(
            content=[TextContent(type="text", text=_describe(result))],
            structured_content=result.model_dump(mode="json"),
        )

    @server.tool(annotations=READ_ONLY)
    def sync_status() -> SyncStatus:
        """Where the data stands: per stream its watermark, last run, rows, dead letters and last error,
        whether a sync is running in this server, and when the data was last refreshed."""
        try:
            return service.sync_status(state.db_path, state.scheduler)
        except SquareBIError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True))
    async def run_sync(streams: list[str] | str | None = None) -> RunSyncResult:
        """Start an incremental sync from Square now, in the background; check sync_status for the result.

        streams: optionally only these (locations, catalog, orders, ...); default all.
        """
        if state.scheduler is None:
            raise ToolError(
                "This server only serves data (started with --no-sync or without SQUARE_ACCESS_TOKEN); "
                "run `square-bi sync --db ...` in a shell instead."
            )
        try:
            wanted = name_list(streams, argument="streams") or None
            return service.start_sync(state.scheduler, wanted)
        except SquareBIError as exc:
            raise ToolError(str(exc)) from exc

    return server


def _describe(result: QueryMetricsResult) -> str:
    notes = [
        f"{result.row_count} row(s); time dimension: {result.time_dimension}.",
    ]
    notes.extend(result.notes)
    if result.currencies:
        notes.append("Money in " + ", ".join(result.currencies) + " (major units).")
    if result.limit_hit:
        notes.append(f"limit_hit: only the first {result.limit} rows are shown; do not sum them into a total.")
    if result.data_freshness:
        notes.append(f"Data synced at {result.data_freshness}.")
    return markdown_table(result.columns, result.rows) + "\n\n" + " ".join(notes)
