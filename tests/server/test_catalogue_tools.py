"""Discovery tools, saved queries, explain_query, the catalogue resource and the prompts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot
from mcp import Client

from square_bi.server.app import build_server


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def call(db: Path, tool: str, arguments: dict[str, Any]) -> Any:
    async with Client(build_server(db)) as client:
        return await client.call_tool(tool, arguments)


async def test_get_dimensions_lists_each_time_dimension_once_with_its_grains(shop_db: Path) -> None:
    result = await call(shop_db, "get_dimensions", {"metrics": ["net_sales"]})
    dimensions = {d["name"]: d for d in result.structured_content["dimensions"]}
    assert dimensions["metric_time"]["grains"] == ["day", "week", "month", "quarter", "year"]
    assert not any(name.startswith("metric_time__") for name in dimensions)
    assert {"location__name", "item__category", "order__hour_of_day", "order__source"} <= set(dimensions)


async def test_get_dimensions_for_an_unknown_metric_suggests_the_nearest(shop_db: Path) -> None:
    result = await call(shop_db, "get_dimensions", {"metrics": "net_sale"})
    assert result.is_error and "Did you mean 'net_sales'" in _text(result)


async def test_get_dimension_values_falls_back_to_the_most_common_values(shop_db: Path) -> None:
    result = await call(shop_db, "get_dimension_values", {"dimension": "location__name", "search": "zzz"})
    data = result.structured_content
    assert data["matched_search"] is False and len(data["values"]) == 3 and data["note"]


async def test_explain_query_renders_sql_that_parses_in_each_dialect(shop_db: Path) -> None:
    for dialect in ("duckdb", "snowflake", "bigquery", "postgres", "databricks"):
        result = await call(
            shop_db,
            "explain_query",
            {
                "metrics": ["net_sales"],
                "group_by": ["metric_time__month"],
                "time_range": "last_month",
                "dialect": dialect,
            },
        )
        assert not result.is_error, _text(result)
        sqlglot.parse_one(result.structured_content["sql"], read=dialect)


async def test_explain_query_refuses_an_unknown_dialect(shop_db: Path) -> None:
    result = await call(shop_db, "explain_query", {"metrics": ["net_sales"], "dialect": "oracle9"})
    assert result.is_error and "dialect" in _text(result)


async def test_a_saved_query_runs_by_name_with_a_time_range(shop_db: Path) -> None:
    listed = await call(shop_db, "list_saved_queries", {})
    names = [q["name"] for q in listed.structured_content["saved_queries"]]
    assert "weekly_sales_by_location" in names
    result = await call(
        shop_db, "run_saved_query", {"name": "weekly_sales_by_location", "start": "2026-10-19", "end": "2026-11-01"}
    )
    data = result.structured_content
    assert data["columns"][:2] == ["metric_time__week", "location__name"]
    assert {row[0] for row in data["rows"]} == {"2026-10-19", "2026-10-26"}


async def test_an_unknown_saved_query_is_a_tool_error_with_a_suggestion(shop_db: Path) -> None:
    result = await call(shop_db, "run_saved_query", {"name": "best_seller"})
    assert result.is_error and "Did you mean 'best_sellers'" in _text(result)


async def test_compare_periods_refuses_grouping_by_metric_time(shop_db: Path) -> None:
    result = await call(
        shop_db,
        "compare_periods",
        {"metrics": ["net_sales"], "current": "last_week", "previous": "last_month", "group_by": ["metric_time__day"]},
    )
    assert result.is_error and "metric_time" in _text(result)


async def test_an_unknown_time_range_lists_the_valid_ones(shop_db: Path) -> None:
    result = await call(shop_db, "query_metrics", {"metrics": ["net_sales"], "time_range": "lastweek"})
    assert result.is_error and "Did you mean 'last_week'" in _text(result)


async def test_time_range_and_explicit_dates_together_are_refused(shop_db: Path) -> None:
    result = await call(
        shop_db, "query_metrics", {"metrics": ["net_sales"], "time_range": "last_week", "start": "2026-10-01"}
    )
    assert result.is_error and "either time_range or start/end" in _text(result)


async def test_the_catalogue_resource_and_the_prompts_are_served(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        resource = await client.read_resource("square-bi://catalogue")
        prompts = await client.list_prompts()
        review = await client.get_prompt("weekly_business_review", {})
    text = resource.contents[0].text  # type: ignore[union-attr]
    assert "**net_sales**" in text and "**metric_time**" in text and "last_week" in text
    assert {p.name for p in prompts.prompts} == {"weekly_business_review", "explain_metric_change"}
    assert "compare_periods" in review.messages[0].content.text  # type: ignore[union-attr]


def test_the_inspector_entry_point_exposes_a_module_level_server_for_mcp_dev(shop_db: Path, monkeypatch: Any) -> None:
    import importlib.util

    from mcp.server.mcpserver import MCPServer

    import square_bi.server

    monkeypatch.setenv("SQUARE_BI_DB", str(shop_db))
    entry = Path(square_bi.server.__file__).parent / "inspector.py"
    spec = importlib.util.spec_from_file_location("inspector_entry", entry)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    assert isinstance(loaded.server, MCPServer)
