"""``square-bi serve`` over stdio, as Claude Desktop and Claude Code run it: a subprocess."""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from mcp import Client
from mcp.client.stdio import StdioServerParameters

SERVE = [sys.executable, "-m", "square_bi.cli", "serve", "--db"]


def _frame(message: dict[str, object]) -> bytes:
    return (json.dumps(message) + "\n").encode()


def test_the_stdio_server_writes_nothing_but_json_rpc_to_stdout(shop_db: Path) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "stdout-check", "version": "0"},
        },
    }
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "query_metrics", "arguments": {"metrics": ["order_count"], "group_by": ["location__name"]}},
    }
    bad_call = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "query_metrics", "arguments": {"metrics": ["no_such_metric"]}},
    }
    with subprocess.Popen(
        [*SERVE, str(shop_db), "-v"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as server:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(b"".join(_frame(m) for m in (initialize, initialized, call, bad_call)))
        server.stdin.flush()
        lines = _read_lines_until_ids(server.stdout, {1, 2, 3}, timeout_s=60)
        server.stdin.close()
        server.wait(timeout=10)
        lines += [line for line in server.stdout.read().decode().splitlines() if line.strip()]
        stderr = server.stderr.read().decode() if server.stderr else ""
    messages = [json.loads(line) for line in lines]  # every line on stdout must be a JSON-RPC message
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    by_id = {m.get("id"): m for m in messages}
    assert by_id[2]["result"]["isError"] is False
    assert by_id[3]["result"]["isError"] is True
    assert server.returncode == 0, stderr
    assert "INFO" in stderr, "-v logging must go to stderr"


def _read_lines_until_ids(stream: IO[bytes], ids: set[int], *, timeout_s: float) -> list[str]:
    """Read stdout lines until responses to ``ids`` arrived (bounded by ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    lines: list[str] = []
    seen: set[int] = set()
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while not ids <= seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no answer to {ids - seen} within {timeout_s} s; got {lines}"
            if not selector.select(remaining):
                continue
            line = stream.readline().decode()
            assert line, f"the server closed stdout early; got {lines}"
            if line.strip():
                lines.append(line)
                message_id = json.loads(line).get("id")
                if isinstance(message_id, int):
                    seen.add(message_id)
    return lines


async def test_a_stdio_client_session_lists_tools_and_queries_metrics(shop_db: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "square_bi.cli", "serve", "--db", str(shop_db)])
    async with Client(params) as client:
        tools = await client.list_tools()
        result = await client.call_tool("query_metrics", {"metrics": ["order_count"]})
    assert {t.name for t in tools.tools} >= {"list_metrics", "query_metrics", "sync_status", "run_sync"}
    assert not result.is_error
    assert result.structured_content is not None
    assert int(result.structured_content["rows"][0][0]) > 0


async def test_every_tool_answers_and_fails_cleanly_over_stdio(shop_db: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "square_bi.cli", "serve", "--db", str(shop_db)])
    happy = {
        "list_metrics": {"search": "sales"},
        "get_dimensions": {"metrics": ["net_sales"]},
        "get_dimension_values": {"dimension": "location__name"},
        "query_metrics": {
            "metrics": ["net_sales"],
            "group_by": ["location__name"],
            "start": "2026-10-19",
            "end": "2026-10-25",
        },
        "compare_periods": {
            "metrics": ["order_count"],
            "current": {"start": "2026-10-26", "end": "2026-11-01"},
            "previous": {"start": "2026-10-19", "end": "2026-10-25"},
        },
        "explain_query": {"metrics": ["net_sales"], "dialect": "snowflake"},
        "list_saved_queries": {},
        "run_saved_query": {"name": "best_sellers", "limit": 5},
        "sync_status": {},
    }
    failing = {
        "get_dimensions": {"metrics": ["nope"]},
        "get_dimension_values": {"dimension": "location__nam"},
        "query_metrics": {"metrics": ["net_sales"], "group_by": ["'; DROP TABLE x"]},
        "compare_periods": {"metrics": ["net_sales"], "current": "someday", "previous": "last_week"},
        "explain_query": {"metrics": ["net_sales"], "dialect": "cobol"},
        "run_saved_query": {"name": "nope"},
        "run_sync": {},  # serving only: no token in this environment
    }
    async with Client(params) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert listed == set(happy) | {"run_sync"}
        for tool, arguments in happy.items():
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, (tool, result.content)
            assert result.structured_content is not None, tool
        for tool, arguments in failing.items():
            result = await client.call_tool(tool, arguments)
            assert result.is_error, tool
            assert " ".join(getattr(b, "text", "") for b in result.content).strip(), tool
