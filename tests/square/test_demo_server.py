"""``DemoServer`` and ``serve_forever``: real sockets, bounded waits, clean shutdown."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta

import httpx
import pytest
from square_demo_support import ANCHOR, TOKEN

from square_bi.errors import ConfigError
from square_bi.square.demo import DemoConfig, DemoData, DemoServer, create_app, generate


def _refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def tiny_data() -> DemoData:
    return generate(DemoConfig(days=2, orders_per_day=40, anchor=ANCHOR))


def test_demo_server_binds_a_free_port_and_stops_cleanly(tiny_data: DemoData) -> None:
    with DemoServer(tiny_data) as server:
        port = server.port
        assert port > 0
        assert server.base_url == f"http://127.0.0.1:{port}"
        response = httpx.get(f"{server.base_url}/v2/locations", headers={"Authorization": "Bearer demo-token"})
        assert response.status_code == 200
    assert _refuses_connections(port)
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_two_demo_servers_run_side_by_side(tiny_data: DemoData) -> None:
    with DemoServer(tiny_data, access_token="a") as first, DemoServer(tiny_data, access_token="b") as second:
        assert first.port != second.port
        assert httpx.get(f"{first.base_url}/v2/locations", headers={"Authorization": "Bearer a"}).status_code == 200
        assert httpx.get(f"{second.base_url}/v2/locations", headers={"Authorization": "Bearer a"}).status_code == 401


async def test_demo_server_is_usable_from_async_code(tiny_data: DemoData) -> None:
    async with DemoServer(tiny_data, access_token=TOKEN) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            response = await client.get("/v2/locations", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        port = server.port
    assert _refuses_connections(port)


def test_a_busy_port_is_a_config_error(tiny_data: DemoData) -> None:
    with DemoServer(tiny_data) as running, pytest.raises(ConfigError, match="cannot listen"):
        DemoServer(tiny_data, port=running.port).start()


def test_stats_count_requests_per_endpoint_and_status(tiny_data: DemoData) -> None:
    with DemoServer(tiny_data) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        auth = {"Authorization": "Bearer demo-token"}
        http.get("/v2/locations", headers=auth)
        http.get("/v2/locations")
        ids = [loc["id"] for loc in tiny_data.locations]
        http.post("/v2/orders/search", json={"location_ids": ids}, headers=auth)
        http.get("/v2/nowhere", headers=auth)
        stats = http.get("/__demo/stats").json()
    assert stats == {
        "total_requests": 4,
        "endpoints": {
            "GET /v2/locations": {"requests": 2, "statuses": {"200": 1, "401": 1}},
            "POST /v2/orders/search": {"requests": 1, "statuses": {"200": 1}},
            "unmatched": {"requests": 1, "statuses": {"404": 1}},
        },
    }


def test_serve_forever_prints_its_url_to_stderr_and_stops_on_ctrl_c() -> None:
    anchor = (ANCHOR - timedelta(days=1)).isoformat()
    script = (
        "from datetime import datetime\n"
        "from square_bi.square.demo import DemoConfig, serve_forever\n"
        f"serve_forever(DemoConfig(days=2, orders_per_day=30, anchor=datetime.fromisoformat({anchor!r})),"
        " '127.0.0.1', 0, 'cli-token')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    stderr = process.stderr

    def pump() -> None:
        for line in stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        banner = lines.get(timeout=30)
        url = next(word for word in banner.split() if word.startswith("http://"))
        response = httpx.get(f"{url}/v2/locations", headers={"Authorization": "Bearer cli-token"}, timeout=10)
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    assert process.stdout is not None
    assert process.stdout.read() == ""  # everything goes to stderr


def test_a_1000_order_page_of_the_default_demo_is_served_whole() -> None:
    data = generate(DemoConfig(anchor=ANCHOR))
    ids = [loc["id"] for loc in data.locations]
    body = {"location_ids": ids, "limit": 1000, "query": {"sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}}}
    with DemoServer(data) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        auth = {"Authorization": "Bearer demo-token"}
        http.post("/v2/orders/search", json={"location_ids": ids, "limit": 1}, headers=auth)  # warm up
        page = http.post("/v2/orders/search", json=body, headers=auth)
    assert page.status_code == 200 and len(page.json()["orders"]) == 1000


async def test_an_internal_failure_is_a_500_in_squares_envelope(tiny_data: DemoData) -> None:
    def broken_clock() -> datetime:
        raise RuntimeError("clock exploded")

    app = create_app(tiny_data, TOKEN, clock=broken_clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        response = await client.post(
            "/v2/orders/search",
            json={"location_ids": [tiny_data.locations[0]["id"]]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "category": "API_ERROR",
                "code": "INTERNAL_SERVER_ERROR",
                "detail": "The demo merchant failed: RuntimeError.",
            }
        ]
    }
