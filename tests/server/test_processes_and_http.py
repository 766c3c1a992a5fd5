"""Several processes on one warehouse, and the streamable HTTP transport."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from shop_support import DEMO_TOKEN, free_port, wait_for_port
from square_bi.square.demo import DemoData, DemoServer
from square_bi.square.demo.faults import FaultConfig

CLI = [sys.executable, "-m", "square_bi.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQUARE_")}
    env.update(extra)
    return env


@contextmanager
def http_server(db: Path, token: str) -> Iterator[str]:
    port = free_port()
    command = [*CLI, "serve", "--db", str(db), "--transport", "http", "--port", str(port), "--no-sync"]
    process = subprocess.Popen([*command, "--http-token", token], env=_env(), stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_http_transport_answers_with_the_token_and_refuses_without_it(shop_db: Path) -> None:
    with http_server(shop_db, "s3cret") as url:
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, timeout=10)
        headers = {"Authorization": "Bearer s3cret"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            result = await client.call_tool("query_metrics", {"metrics": ["order_count"]})
    assert refused.status_code == 401
    assert not result.is_error and int(result.structured_content["rows"][0][0]) > 0  # type: ignore[index]


async def test_two_servers_and_the_cli_all_answer_while_a_sync_writes_the_same_warehouse(
    shop_data: DemoData, tmp_path: Path
) -> None:
    db = tmp_path / "shared.duckdb"
    slow = FaultConfig(latency_ms=40)
    with DemoServer(shop_data, access_token=DEMO_TOKEN, faults=slow) as square:
        sync = [*CLI, "sync", "--db", str(db), "--base-url", square.base_url]
        env = _env(SQUARE_ACCESS_TOKEN=DEMO_TOKEN, SQUARE_BI_ORDERS_PAGE_SIZE="20")
        subprocess.run(sync, env=env, check=True, capture_output=True, timeout=120)
        # A second, slow sync (full refresh) writes while everyone reads.
        writer = subprocess.Popen([*sync, "--full-refresh"], env=env, stderr=subprocess.PIPE)
        try:
            answers = []
            servers = [
                StdioServerParameters(command=sys.executable, args=["-m", "square_bi.cli", "serve", "--db", str(db)])
                for _ in range(2)
            ]
            async with Client(servers[0]) as first, Client(servers[1]) as second:
                rounds = 0
                while writer.poll() is None or rounds < 3:
                    for client in (first, second):
                        result = await client.call_tool("query_metrics", {"metrics": ["order_count"]})
                        assert not result.is_error, result.content
                        answers.append(int(result.structured_content["rows"][0][0]))  # type: ignore[index]
                    query = subprocess.run(
                        [*CLI, "query", "--db", str(db), "--metrics", "order_count", "--format", "json"],
                        env=_env(),
                        capture_output=True,
                        text=True,
                        timeout=60,
                    )
                    status = subprocess.run(
                        [*CLI, "status", "--db", str(db)], env=_env(), capture_output=True, text=True
                    )
                    assert query.returncode == 0, query.stderr
                    assert status.returncode == 0, status.stderr
                    assert "lock" not in (query.stderr + status.stderr).lower()
                    rounds += 1
            assert writer.wait(timeout=120) == 0
        finally:
            if writer.poll() is None:
                writer.kill()
    assert rounds >= 3
    assert len(set(answers)) == 1, "every answer comes from a complete snapshot"


def _orders_pages_served(base_url: str) -> int:
    stats = httpx.get(f"{base_url}/__demo/stats", timeout=10).json()
    return int(stats["endpoints"].get("POST /v2/orders/search", {}).get("requests", 0))


def test_sigterm_during_a_scheduled_sync_exits_within_five_seconds_and_the_next_sync_resumes(
    shop_data: DemoData, tmp_path: Path
) -> None:
    import duckdb

    db = tmp_path / "terminated.duckdb"
    with DemoServer(shop_data, access_token=DEMO_TOKEN, faults=FaultConfig(latency_ms=40)) as square:
        env = _env(SQUARE_ACCESS_TOKEN=DEMO_TOKEN, SQUARE_BASE_URL=square.base_url, SQUARE_BI_ORDERS_PAGE_SIZE="20")
        server = subprocess.Popen(
            [*CLI, "serve", "--db", str(db)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while _orders_pages_served(square.base_url) < 5:  # the scheduled sync is well into orders
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            terminated_at = time.monotonic()
            server.terminate()
            server.wait(timeout=10)
            assert time.monotonic() - terminated_at < 5
        finally:
            if server.poll() is None:
                server.kill()
        resumed = subprocess.run(
            [*CLI, "sync", "--db", str(db), "--base-url", square.base_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert resumed.returncode == 0, resumed.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        staged = dict(con.execute("SELECT id, version FROM stg_orders").fetchall())
    assert staged == {order["id"]: order["version"] for order in shop_data.orders}
