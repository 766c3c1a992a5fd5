"""Fixtures for the Square demo merchant tests: a small fixed-anchor dataset, a running server
and validators for Square's own OpenAPI schemas (read from ``../shared/square-api``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from square_demo_support import ANCHOR, SPEC_PATH, TOKEN, SquareSchemas

from square_bi.square.demo import DemoConfig, DemoData, DemoServer, generate


@pytest.fixture(scope="session")
def square_schemas() -> SquareSchemas:
    assert SPEC_PATH.is_file(), f"Square's OpenAPI spec is expected at {SPEC_PATH}"
    return SquareSchemas(json.loads(SPEC_PATH.read_text()))


@pytest.fixture(scope="session")
def demo_data() -> DemoData:
    """Three locations, three weeks, ~150 orders a day: small enough to check exhaustively."""
    return generate(DemoConfig(seed=7, days=21, locations=3, orders_per_day=150, anchor=ANCHOR))


@pytest.fixture(scope="session")
def demo_server(demo_data: DemoData) -> Iterator[DemoServer]:
    with DemoServer(demo_data, access_token=TOKEN) as server:
        yield server


@pytest.fixture
def http(demo_server: DemoServer) -> Iterator[httpx.Client]:
    """An authorised client for the running demo server."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Square-Version": "2025-08-20"}
    with httpx.Client(base_url=demo_server.base_url, headers=headers, timeout=10.0) as client:
        yield client


@pytest.fixture(scope="session")
def location_ids(demo_data: DemoData) -> list[str]:
    return [location["id"] for location in demo_data.locations]
