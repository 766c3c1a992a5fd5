"""Shared fixtures: a small, fixed demo merchant served on loopback, and a warehouse synced from it
through the real SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shop_support import DEMO_ANCHOR, DEMO_TOKEN, RawMerchant, fetch_raw_merchant, run_sync
from square_bi.square.demo import DemoConfig, DemoData, DemoServer, generate


@pytest.fixture(scope="session")
def shop_data() -> DemoData:
    """A small shop: three locations in three time zones, two weeks of orders."""
    return generate(DemoConfig(seed=11, days=14, locations=3, orders_per_day=90, anchor=DEMO_ANCHOR))


@pytest.fixture(scope="session")
def shop(shop_data: DemoData) -> Iterator[DemoServer]:
    with DemoServer(shop_data, access_token=DEMO_TOKEN) as server:
        yield server


@pytest.fixture(scope="session")
def raw_shop(shop: DemoServer) -> RawMerchant:
    return fetch_raw_merchant(shop.base_url, DEMO_TOKEN)


@pytest.fixture(scope="session")
def shop_db(shop: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse fully synced from ``shop`` (read it only; tests that write make their own)."""
    db = tmp_path_factory.mktemp("warehouse") / "shop.duckdb"
    result = run_sync(shop.base_url, db)
    assert result.report.ok, result.report.failed
    return db
