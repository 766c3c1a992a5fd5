"""The shapes tools return: pydantic models (structured content) plus a markdown rendering."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class MetricSummary(BaseModel):
    name: str
    label: str
    description: str = Field(description="One line: what the metric counts.")
    type: str
    unit: str | None = None


class MetricList(BaseModel):
    metrics: list[MetricSummary]
    total: int = Field(description="How many metrics match (all of them are listed).")


class MetricColumn(BaseModel):
    name: str
    label: str
    unit: str | None = None
    description: str = ""


class QueryMetricsResult(BaseModel):
    """Rows of a metric query and what was done to get them."""

    columns: list[str]
    rows: list[list[Any]] = Field(description="Money values are exact decimal strings in major units (e.g. '1234.56').")
    row_count: int
    limit: int
    limit_hit: bool = Field(
        description="True when more rows exist than were returned: never sum these rows into a total."
    )
    metrics: list[MetricColumn]
    group_by: list[str]
    time_dimension: str = Field(
        description="The date every metric is attributed to: the order's close date in the location's time zone."
    )
    currencies: list[str] = Field(
        default_factory=list,
        description="Currencies of the money values; with several, each row names its own in column 'currency'.",
    )
    notes: list[str] = Field(default_factory=list, description="What the numbers mean: time, grain, currencies.")
    data_freshness: str | None = Field(default=None, description="When the warehouse was last synced (UTC).")
    time_grain: str | None = Field(default=None, description="The metric_time grain grouped by, if any.")
    time_zone: str = Field(description="Merchant time zone used to resolve relative dates such as 'today'.")
    time_range: str | None = Field(default=None, description="The named range asked for, e.g. 'last_week'.")
    start: str | None = Field(default=None, description="First business date included (resolved).")
    end: str | None = Field(default=None, description="Last business date included (resolved).")
    filters: list[dict[str, Any]] = Field(default_factory=list, description="The row filters applied.")
    truncated: bool = Field(default=False, description="True when rows were cut to fit the size limit.")


class ComparePeriodsResult(BaseModel):
    """Each metric for two periods, per group: current, previous, delta and pct_change."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    current: dict[str, str] = Field(description="The current period's resolved start and end dates.")
    previous: dict[str, str] = Field(description="The previous period's resolved start and end dates.")
    time_zone: str
    currencies: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class DimensionInfo(BaseModel):
    name: str
    kind: str = Field(description="'time' (group by NAME__GRAIN) or 'categorical'.")
    grains: list[str] | None = Field(default=None, description="For time dimensions: the grains, e.g. day, week.")
    description: str | None = None


class DimensionList(BaseModel):
    dimensions: list[DimensionInfo]
    total: int


class DimensionValues(BaseModel):
    dimension: str
    values: list[Any]
    matched_search: bool = Field(
        description="False when nothing matched the search and the most common values are shown."
    )
    note: str | None = None


class ExplainResult(BaseModel):
    sql: str
    dialect: str
    note: str


def markdown_table(columns: list[str], rows: list[list[Any]], *, max_rows: int = 50) -> str:
    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows[:max_rows]]
    if len(rows) > max_rows:
        lines.append(f"... {len(rows) - max_rows} more rows in the structured result")
    return "\n".join(lines)


class StreamFreshness(BaseModel):
    stream: str
    watermark: str | None = Field(description="Everything updated up to this moment (UTC) is in the warehouse.")
    last_run_at: str | None
    last_status: str | None
    rows_total: int
    dead_letters: int = Field(description="Records that failed validation and were set aside, not lost.")
    last_error: str | None


class SyncStatus(BaseModel):
    streams: list[StreamFreshness]
    data_freshness: str | None = Field(default=None, description="When the served snapshot was published (UTC).")
    sync_running: bool = False
    last_outcome: str | None = None
    syncing_enabled: bool = Field(description="Whether this server syncs on a schedule.")


class RunSyncResult(BaseModel):
    started: bool
    message: str


class SavedQueryInfo(BaseModel):
    name: str
    label: str
    description: str
    metrics: list[str]
    group_by: list[str]


class SavedQueryList(BaseModel):
    saved_queries: list[SavedQueryInfo]
