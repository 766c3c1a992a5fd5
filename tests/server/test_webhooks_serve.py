"""``square-bi serve`` receiving webhooks in a real process: on the MCP port with ``--transport http``
(outside the bearer gate), on ``--webhook-port`` beside the stdio transport; and its config errors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from shop_support import DEMO_TOKEN, RawMerchant, free_port, wait_for_port
from square_bi.cli import main
from square_bi.square.demo import DemoServer
from square_bi.square.demo.webhooks import sign
from square_bi.warehouse.snapshot import open_snapshot, serving_path

CLI = [sys.executable, "-m", "square_bi.cli"]
KEY = "serve-signature-key"
SECRET = "sekrit-signature-key-value"
PUBLIC_URL = "https://shop.example.com/webhooks/square"
"""The URL registered with Square (a tunnel in front of the local port): what Square signs."""


def _env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQUARE_")}
    env.update(
        SQUARE_ACCESS_TOKEN=DEMO_TOKEN,
        SQUARE_BASE_URL=base_url,
        SQUARE_WEBHOOK_SIGNATURE_KEY=KEY,
        SQUARE_WEBHOOK_URL=PUBLIC_URL,
    )
    return env


def _a_completed_sale(raw: RawMerchant) -> str:
    sales = (o for o in raw.orders if o["state"] == "COMPLETED" and o.get("line_items") and not o.get("returns"))
    return str(next(sales)["id"])


def _signed_order_event(order_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "merchant_id": "M",
            "type": "order.updated",
            "event_id": str(uuid.uuid4()),
            "created_at": "2026-11-02T00:00:00Z",
            "data": {"type": "order_updated", "id": order_id, "object": {"order_updated": {"order_id": order_id}}},
        }
    )
    headers = {"content-type": "application/json", "x-square-hmacsha256-signature": sign(PUBLIC_URL, body, KEY)}
    return body.encode(), headers


def _wait_for_served_order(db: Path, order_id: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if serving_path(db).exists():
            con = open_snapshot(db)
            try:
                found = con.execute("SELECT count(*) FROM fct_order WHERE order_id = ?", [order_id]).fetchone()
            finally:
                con.close()
            if found and found[0] == 1:
                return
        assert time.monotonic() < deadline, f"order {order_id} not served within {timeout_s} s"
        time.sleep(0.1)


@contextmanager
def _process(command: list[str], env: dict[str, str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, **kwargs)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_over_http_webhooks_share_the_mcp_port_outside_the_bearer_gate(
    shop: DemoServer, raw_shop: RawMerchant, tmp_path: Path
) -> None:
    db, port = tmp_path / "hooks.duckdb", free_port()
    order_id = _a_completed_sale(raw_shop)
    command = [*CLI, "serve", "--db", str(db), "--transport", "http", "--port", str(port), "--no-sync"]
    with _process([*command, "--http-token", "s3cret"], _env(shop.base_url)) as process:
        wait_for_port(port, process)
        body, headers = _signed_order_event(order_id)
        accepted = httpx.post(f"http://127.0.0.1:{port}/webhooks/square", content=body, headers=headers, timeout=10)
        forged = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/square",
            content=body,
            headers={**headers, "x-square-hmacsha256-signature": sign(PUBLIC_URL, body.decode(), "guess")},
            timeout=10,
        )
        mcp_without_token = httpx.post(
            f"http://127.0.0.1:{port}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, timeout=10
        )
        _wait_for_served_order(db, order_id)
    assert accepted.status_code == 200 and accepted.json() == {"status": "accepted"}
    assert forged.status_code == 401
    assert mcp_without_token.status_code == 401


async def test_with_stdio_webhooks_arrive_on_their_own_port_beside_the_mcp_session(
    shop: DemoServer, raw_shop: RawMerchant, tmp_path: Path
) -> None:
    db, port = tmp_path / "stdio-hooks.duckdb", free_port()
    order_id = _a_completed_sale(raw_shop)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "square_bi.cli", "serve", "--db", str(db), "--no-sync", "--webhook-port", str(port)],
        env=_env(shop.base_url),
    )
    async with Client(params) as client:
        body, headers = _signed_order_event(order_id)
        webhook_url = f"http://127.0.0.1:{port}/webhooks/square"
        deadline = time.monotonic() + 30
        while True:  # the webhook port opens while the MCP session starts
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    accepted = await http.post(webhook_url, content=body, headers=headers)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the webhook port never opened"
                await asyncio.sleep(0.1)
        await asyncio.to_thread(_wait_for_served_order, db, order_id)
        answer = await client.call_tool("query_metrics", {"metrics": ["order_count"]})
    assert accepted.status_code == 200
    assert not answer.is_error and int(answer.structured_content["rows"][0][0]) == 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({}, ["--webhook-signature-key", SECRET], "SQUARE_WEBHOOK_URL"),
        ({}, ["--webhook-url", "https://x.example/webhooks/square"], "SQUARE_WEBHOOK_SIGNATURE_KEY"),
        ({"SQUARE_WEBHOOK_SIGNATURE_KEY": SECRET}, ["--webhook-url", "x.example"], "http(s) URL"),
        (
            {"SQUARE_WEBHOOK_SIGNATURE_KEY": SECRET, "SQUARE_WEBHOOK_URL": "https://x.example/webhooks/square"},
            [],
            "SQUARE_ACCESS_TOKEN",
        ),
    ],
)
def test_half_configured_webhooks_stop_serve_with_a_message_naming_what_to_set(
    env: dict[str, str],
    flags: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(os.environ):
        if name.startswith("SQUARE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--db", str(tmp_path / "x.duckdb"), "--no-sync", *flags]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert SECRET not in err
