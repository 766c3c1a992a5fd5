"""The chart app from the MCP side: which tools carry it, how it is served, and that a client
without Apps support gets exactly the text and data it always did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import CallToolResult

from square_bi.server.app import build_server
from square_bi.server.chart import CHART_URI, METRICS_META_KEY
from square_bi.server.results import markdown_table

CHART_TOOLS = {"query_metrics", "run_saved_query", "compare_periods"}

# Calls whose answers do not depend on today's date: explicit business dates of the demo's fortnight.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("query_metrics", {"metrics": ["order_count", "items_sold"], "group_by": ["metric_time__day"]}),
    ("query_metrics", {"metrics": ["net_sales"], "group_by": ["location__name"], "order_by": ["-net_sales"]}),
    ("run_saved_query", {"name": "weekly_sales_by_location"}),
    (
        "compare_periods",
        {
            "metrics": ["net_sales", "order_count"],
            "group_by": ["location__name"],
            "current": {"start": "2026-10-26", "end": "2026-11-01"},
            "previous": {"start": "2026-10-19", "end": "2026-10-25"},
        },
    ),
]


def apps_client(server: Any) -> Client:
    """A client that negotiated MCP Apps, as Claude Desktop does."""
    return Client(server, extensions=[advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})])


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def test_exactly_the_three_result_tools_point_at_the_chart_app(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        tools = (await client.list_tools()).tools
    bound = {tool.name: (tool.meta or {}).get("ui", {}).get("resourceUri") for tool in tools}
    assert {name for name, uri in bound.items() if uri} == CHART_TOOLS
    assert {bound[name] for name in CHART_TOOLS} == {CHART_URI}


async def test_the_chart_app_is_served_as_one_mcp_app_html_page_that_asks_for_no_network_domains(
    shop_db: Path,
) -> None:
    async with apps_client(build_server(shop_db)) as client:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        read = await client.read_resource(CHART_URI)
    assert listed[CHART_URI].mime_type == APP_MIME_TYPE
    assert "csp" not in ((listed[CHART_URI].meta or {}).get("ui") or {})
    [page] = read.contents
    assert page.mime_type == APP_MIME_TYPE
    html = getattr(page, "text", "")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<script" in html and " src=" not in html and "<link" not in html


async def test_a_client_without_apps_gets_the_same_table_and_data_as_an_apps_client_and_no_chart_metadata(
    shop_db: Path,
) -> None:
    server = build_server(shop_db)
    for tool, arguments in CALLS:
        async with Client(server) as plain_client:
            plain = await plain_client.call_tool(tool, arguments)
        async with apps_client(server) as rich_client:
            rich = await rich_client.call_tool(tool, arguments)
        assert not plain.is_error and not rich.is_error, (tool, text_of(plain), text_of(rich))
        assert plain.structured_content == rich.structured_content, tool
        assert text_of(plain) == text_of(rich), tool
        assert plain.meta is None or METRICS_META_KEY not in plain.meta, tool
        data = plain.structured_content
        assert data is not None and data["rows"], tool
        assert text_of(plain).startswith(markdown_table(data["columns"], data["rows"])), tool


async def test_an_apps_client_gets_the_compared_metrics_labels_and_units_for_the_chart(shop_db: Path) -> None:
    _, arguments = CALLS[-1]
    async with apps_client(build_server(shop_db)) as client:
        result = await client.call_tool("compare_periods", arguments)
        catalogue = await client.call_tool("list_metrics", {})
    assert result.meta is not None
    listed = {m["name"]: m for m in (catalogue.structured_content or {})["metrics"]}
    assert result.meta[METRICS_META_KEY] == [
        {"name": name, "label": listed[name]["label"], "unit": listed[name]["unit"]} for name in arguments["metrics"]
    ]
