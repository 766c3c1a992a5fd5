"""Helpers shared by the tests: the demo shop's constants, raw API access and sync shortcuts.

Expectations are computed from the demo merchant's raw API answers, fetched over HTTP here with
plain httpx, never from our own tables."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from square_bi.config import Settings
from square_bi.extract.records import utc_now
from square_bi.extract.runner import Extractor, SyncOptions, SyncReport
from square_bi.square.client import close_client, make_client
from square_bi.warehouse.database import Warehouse
from square_bi.warehouse.sink import DuckDBSink
from square_bi.warehouse.star import initialize
from square_bi.warehouse.sync import SyncResult, sync_warehouse

DEMO_TOKEN = "test-token"
DEMO_ANCHOR = datetime(2026, 11, 2, tzinfo=UTC)
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RawMerchant:
    """The demo merchant's data as its API serves it."""

    locations: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    catalog: list[dict[str, Any]]


def fetch_raw_merchant(base_url: str, token: str) -> RawMerchant:
    """Every location, order and catalog item, paged by hand over HTTP (independent of our extractor)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        locations = http.get("/v2/locations").raise_for_status().json()["locations"]
        orders: list[dict[str, Any]] = []
        ids = [loc["id"] for loc in locations]
        for start in range(0, len(ids), 10):
            cursor = None
            while True:
                body: dict[str, Any] = {"location_ids": ids[start : start + 10], "limit": 1000}
                if cursor:
                    body["cursor"] = cursor
                page = http.post("/v2/orders/search", json=body).raise_for_status().json()
                orders.extend(page.get("orders", []))
                cursor = page.get("cursor")
                if not cursor:
                    break
        catalog: list[dict[str, Any]] = []
        cursor = None
        while True:
            request: dict[str, Any] = {"object_types": ["ITEM", "ITEM_VARIATION", "CATEGORY"], "limit": 1000}
            if cursor:
                request["cursor"] = cursor
            page = http.post("/v2/catalog/search", json=request).raise_for_status().json()
            catalog.extend(page.get("objects", []))
            cursor = page.get("cursor")
            if not cursor:
                break
    return RawMerchant(locations=locations, orders=orders, catalog=catalog)


def demo_settings(base_url: str, **overrides: Any) -> Settings:
    return Settings(SQUARE_ACCESS_TOKEN=DEMO_TOKEN, SQUARE_BASE_URL=base_url, **overrides)


def run_sync(base_url: str, db: Path, **kwargs: Any) -> SyncResult:
    return asyncio.run(sync_warehouse(demo_settings(base_url), db, **kwargs))


async def extract(
    base_url: str,
    db: Path,
    options: SyncOptions,
    make_sink: Callable[[Warehouse], DuckDBSink] = DuckDBSink,
    clock: Callable[[], datetime] = utc_now,
) -> tuple[DuckDBSink, SyncReport]:
    """One extraction (no star schema) into ``db`` through ``make_sink``, at ``clock``'s time."""
    client = make_client(base_url, DEMO_TOKEN)
    warehouse = Warehouse(db).open()
    try:
        warehouse.run(initialize)
        sink = make_sink(warehouse)
        return sink, await Extractor(client, sink, base_url=base_url, options=options, clock=clock).run()
    finally:
        warehouse.close()
        await close_client(client)


def free_port() -> int:
    """A loopback port nothing listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """Wait until ``process`` (a server starting up) listens on ``port``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None, "the server exited while starting"
            assert time.monotonic() < deadline, f"nothing listening on {port} after {timeout_s} s"
            time.sleep(0.05)
