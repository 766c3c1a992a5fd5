"""The MCP server: a thin layer of tools over ``service``, ``explore`` and ``compare``.

Tools return pydantic models (structured content) with a markdown rendering as their text, carry
``readOnlyHint`` (all but ``run_sync``), accept list and object arguments as JSON strings too, and
turn every expected failure into a tool error the model can correct from (unknown names come back
with the valid ones and the nearest match).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from square_bi import __version__
from square_bi.errors import SquareBIError
from square_bi.semantic import SemanticLayer, default_semantic_dir, load_semantic_layer
from square_bi.semantic.saved_queries import SavedQuery, load_saved_queries, saved_query
from square_bi.server import compare, explore, service
from square_bi.server.arguments import name_list
from square_bi.server.catalogue import catalogue_markdown
from square_bi.server.chart import CHART_URI, chart_apps, metrics_meta
from square_bi.server.results import (
    ComparePeriodsResult,
    DimensionList,
    DimensionValues,
    ExplainResult,
    MetricList,
    QueryMetricsResult,
    RunSyncResult,
    SavedQueryInfo,
    SavedQueryList,
    SyncStatus,
    markdown_table,
)
from square_bi.server.scheduler import SyncScheduler
from square_bi.server.time_ranges import DESCRIPTIONS

log = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
T = TypeVar("T")

INSTRUCTIONS = """\
Answers questions about a Square merchant's sales from a local warehouse, exactly.
1. list_metrics (optionally search "revenue") to find metric names; get_dimensions for group-bys.
2. query_metrics with metrics, group_by (metric_time__day|week|month|quarter|year, location__name,
   item__name, item__category, order__hour_of_day, order__day_of_week, order__source, ...), where
   filters ({dimension, op, value|values}), and either time_range (today, yesterday, this_week,
   last_week, this_month, last_month, last_7_days, last_30_days, year_to_date: resolved on the
   server in the merchant's calendar) or start/end dates. Never invent dates: use time_range.
3. compare_periods for "compared to last week/month" questions.
Money comes back as exact decimal strings in major units with its currency; never add up amounts
in different currencies. Dates are business dates: when the order closed, in the location's own
time zone. If limit_hit is true, do not sum the rows into a total: query without the grouping."""

TIME_RANGE_HELP = "; ".join(f"{name}: {text}" for name, text in DESCRIPTIONS.items())


@dataclass(frozen=True)
class AppState:
    db_path: Path
    layer: SemanticLayer
    scheduler: SyncScheduler | None = None
    """Keeps the data fresh in this process; None when serving only (no token, or --no-sync)."""
    clock: Callable[[], datetime] | None = None
    """What "now" is when resolving time ranges (tests pin it; default: the real time)."""
    saved: dict[str, SavedQuery] = field(default_factory=dict)

    def now(self) -> datetime | None:
        return self.clock() if self.clock else None


def _call(action: Callable[[], T]) -> T:
    """Run a tool body; expected failures become tool errors with their actionable text."""
    try:
        return action()
    except SquareBIError as exc:
        raise ToolError(str(exc)) from exc


def _with_table(result: Any, text: str, meta: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=result.model_dump(mode="json"), _meta=meta
    )


def build_server(
    db_path: Path,
    semantic_dir: Path | None = None,
    *,
    scheduler: SyncScheduler | None = None,
    clock: Callable[[], datetime] | None = None,
) -> MCPServer[AppState]:
    """The square-bi MCP server answering from ``db_path`` (its serving snapshot)."""
    folder = semantic_dir or default_semantic_dir()
    layer = load_semantic_layer(folder)
    state = AppState(db_path=db_path, layer=layer, scheduler=scheduler, clock=clock, saved=load_saved_queries(folder))

    # The tools whose results the chart app draws; registered with the server through the Apps extension.
    apps = chart_apps()

    @apps.tool(resource_uri=CHART_URI, annotations=READ_ONLY)
    def query_metrics(
        metrics: list[str] | str,
        group_by: list[str] | str | None = None,
        where: list[dict[str, Any]] | dict[str, Any] | str | None = None,
        start: str | None = None,
        end: str | None = None,
        time_range: str | None = None,
        order_by: list[str] | str | None = None,
        limit: int | None = None,
    ) -> Annotated[CallToolResult, QueryMetricsResult]:
        """Compute metrics, optionally grouped, filtered and limited to dates.

        metrics: names from list_metrics, e.g. ["net_sales", "order_count"].
        group_by: e.g. ["metric_time__week", "location__name"] (ISO weeks start Monday).
        where: filters [{"dimension": "location__name", "op": "=", "value": "Mission"}]; ops =, !=, >,
            >=, <, <=, in, not_in (values: [...]), like, between (values: [low, high]), is_null, is_not_null.
        time_range: one of today, yesterday, this_week, last_week, this_month, last_month,
            last_7_days, last_30_days, year_to_date (resolved in the merchant's calendar; echoed back).
        start, end: business dates YYYY-MM-DD, inclusive (instead of time_range).
        order_by: selected names; prefix "-" for descending, e.g. ["-net_sales"].
        limit: maximum rows (default 100, at most 5000). If limit_hit is true, more rows exist: do not
            add the returned rows up into a total.
        """
        result = _call(
            lambda: service.query_metrics(
                state.db_path,
                state.layer,
                metrics=name_list(metrics, argument="metrics"),
                group_by=name_list(group_by, argument="group_by"),
                order_by=name_list(order_by, argument="order_by"),
                limit=limit,
                where=where,
                start=start,
                end=end,
                time_range=time_range,
                now=state.now(),
            )
        )
        return _with_table(result, _describe(result))

    @apps.tool(resource_uri=CHART_URI, annotations=READ_ONLY)
    def run_saved_query(
        name: str,
        time_range: str | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: int | None = None,
    ) -> Annotated[CallToolResult, QueryMetricsResult]:
        """Run a saved query by name, optionally over a time_range (last_week, this_month, ...) or
        start/end business dates. Returns the same envelope as query_metrics."""

        def run() -> QueryMetricsResult:
            query = saved_query(state.saved, name)
            return service.query_metrics(
                state.db_path,
                state.layer,
                metrics=list(query.metrics),
                group_by=list(query.group_by),
                order_by=list(query.group_by),
                limit=limit,
                start=start,
                end=end,
                time_range=time_range,
                now=state.now(),
            )

        result = _call(run)
        return _with_table(result, _describe(result))

    @apps.tool(resource_uri=CHART_URI, annotations=READ_ONLY)
    def compare_periods(
        metrics: list[str] | str,
        current: str | dict[str, str],
        previous: str | dict[str, str],
        group_by: list[str] | str | None = None,
        where: list[dict[str, Any]] | dict[str, Any] | str | None = None,
        *,
        ctx: Context[AppState],
    ) -> Annotated[CallToolResult, ComparePeriodsResult]:
        """Metrics for two periods side by side, per group: current, previous, delta, pct_change.

        current / previous: a named range (this_week, last_week, this_month, last_month, ...) or
            {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}. E.g. current "last_week", previous
            {"start": ..., "end": ...} for the week before.
        group_by: dimensions other than metric_time, e.g. ["location__name"].
        """
        result = _call(
            lambda: compare.compare_periods(
                state.db_path,
                state.layer,
                metrics=name_list(metrics, argument="metrics"),
                current=current,
                previous=previous,
                group_by=name_list(group_by, argument="group_by"),
                where=where,
                now=state.now(),
            )
        )
        text = markdown_table(result.columns, result.rows) + f"\n\ncurrent {result.current}, previous {result.previous}"
        # Only an Apps client draws the chart, which needs the labels and units this envelope lacks.
        names = name_list(metrics, argument="metrics")
        return _with_table(result, text, metrics_meta(state.layer, names) if client_supports_apps(ctx) else None)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        yield state

    server: MCPServer[AppState] = MCPServer(
        "square-bi", version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan, extensions=[apps]
    )

    @server.tool(annotations=READ_ONLY)
    def list_metrics(search: str | None = None) -> MetricList:
        """List the metrics that can be queried (name, label, one-line definition, type, unit).

        search: optional words matched against names, labels and synonyms, e.g. "revenue".
        """
        return service.list_metrics(state.layer, search)

    @server.tool(annotations=READ_ONLY)
    def get_dimensions(metrics: list[str] | str | None = None, search: str | None = None) -> DimensionList:
        """Dimensions to group or filter by, valid for all the given metrics (all metrics if none).

        Time dimensions are listed once with their grains: group by NAME__GRAIN, e.g. metric_time__week.
        """
        return _call(lambda: explore.get_dimensions(state.layer, name_list(metrics, argument="metrics"), search))

    @server.tool(annotations=READ_ONLY)
    def get_dimension_values(dimension: str, search: str | None = None, limit: int | None = None) -> DimensionValues:
        """Distinct values of a dimension, most common first, e.g. location names for a filter.

        search: fuzzy (case- and separator-insensitive); when nothing matches, the most common values
        are returned with matched_search = false. limit: default 20.
        """
        return _call(lambda: explore.get_dimension_values(state.db_path, state.layer, dimension, search, limit))

    @server.tool(annotations=READ_ONLY)
    def list_saved_queries() -> SavedQueryList:
        """Curated, canonical queries (name, label, description, metrics, group_by): run one with
        run_saved_query instead of composing the query yourself."""
        return SavedQueryList(
            saved_queries=[
                SavedQueryInfo(
                    name=q.name,
                    label=q.label,
                    description=q.description,
                    metrics=list(q.metrics),
                    group_by=list(q.group_by),
                )
                for q in state.saved.values()
            ]
        )

    @server.tool(annotations=READ_ONLY)
    def explain_query(
        metrics: list[str] | str,
        group_by: list[str] | str | None = None,
        where: list[dict[str, Any]] | dict[str, Any] | str | None = None,
        start: str | None = None,
        end: str | None = None,
        time_range: str | None = None,
        order_by: list[str] | str | None = None,
        limit: int | None = None,
        dialect: str = "duckdb",
    ) -> ExplainResult:
        """The SQL query_metrics would run for these arguments, optionally for another dialect
        (duckdb, snowflake, bigquery, postgres, databricks). Nothing is executed."""
        return _call(
            lambda: explore.explain_query(
                state.db_path,
                state.layer,
                metrics=name_list(metrics, argument="metrics"),
                group_by=name_list(group_by, argument="group_by"),
                where=where,
                start=start,
                end=end,
                time_range=time_range,
                order_by=name_list(order_by, argument="order_by"),
                limit=limit,
                dialect=dialect,
                now=state.now(),
            )
        )

    @server.tool(annotations=READ_ONLY)
    def sync_status() -> SyncStatus:
        """Where the data stands: per stream its watermark, last run, rows, dead letters and last error,
        whether a sync is running in this server, and when the data was last refreshed."""
        return _call(lambda: service.sync_status(state.db_path, state.scheduler))

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
        scheduler = state.scheduler
        return _call(lambda: service.start_sync(scheduler, name_list(streams, argument="streams") or None))

    @server.resource(
        "square-bi://catalogue",
        name="catalogue",
        description="Every metric and dimension with its definition, in markdown.",
        mime_type="text/markdown",
    )
    def catalogue() -> str:
        return catalogue_markdown(state.layer)

    @server.prompt(description="A weekly business review: last week against the week before, by location.")
    def weekly_business_review() -> str:
        return (
            "Give me a weekly business review. Use compare_periods with current 'last_week' and previous the "
            "week before it (as start/end dates one week earlier than what last_week resolved to), for "
            "net_sales, order_count, average_order_value and items_sold, grouped by location__name. Then "
            "show the top 5 items by net_sales last week (query_metrics, group_by item__name, order_by "
            "-net_sales, limit 5). Say the dates and time zone used, keep currencies apart, and end with "
            "three observations a shop owner can act on."
        )

    @server.prompt(description="Explain why a metric changed between two periods.")
    def explain_metric_change(metric: str = "net_sales", current: str = "last_week") -> str:
        return (
            f"Explain why {metric} changed in {current} compared to the period before. Use compare_periods "
            f"for {metric} and order_count with current '{current}', grouped in turn by location__name, "
            "item__category, order__day_of_week and order__hour_of_day, to find where the change came from. "
            "Quote exact numbers with their currency and the resolved dates."
        )

    return server


def _describe(result: QueryMetricsResult) -> str:
    notes = [f"{result.row_count} row(s); time dimension: {result.time_dimension}."]
    if result.start or result.end:
        label = f" ({result.time_range})" if result.time_range else ""
        notes.append(f"Dates{label}: {result.start} to {result.end}, merchant time zone {result.time_zone}.")
    notes.extend(result.notes)
    if result.currencies:
        notes.append("Money in " + ", ".join(result.currencies) + " (major units).")
    if result.limit_hit:
        notes.append(f"limit_hit: only the first {result.row_count} rows are shown; do not sum them into a total.")
    if result.data_freshness:
        notes.append(f"Data published at {result.data_freshness}.")
    return markdown_table(result.columns, result.rows) + "\n\n" + " ".join(notes)
