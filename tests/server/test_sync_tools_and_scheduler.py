"""Keeping data fresh inside the server: sync_status, run_sync and the scheduler."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from mcp import Client

from shop_support import demo_settings
from square_bi.server.app import build_server
from square_bi.server.scheduler import SyncScheduler
from square_bi.square.demo import DemoServer
from square_bi.warehouse.snapshot import sync_lock


def _text(result: object) -> str:
    return " ".join(getattr(block, "text", "") for block in getattr(result, "content", []))


async def _until(predicate: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_sync_status_reports_every_stream_and_when_the_data_was_published(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        result = await client.call_tool("sync_status", {})
    assert not result.is_error, _text(result)
    data = result.structured_content
    assert data is not None
    assert {s["stream"] for s in data["streams"]} >= {"locations", "catalog", "orders"}
    assert all(s["watermark"] and s["last_status"] == "succeeded" for s in data["streams"])
    assert data["data_freshness"] is not None and data["syncing_enabled"] is False


async def test_run_sync_without_a_scheduler_says_how_to_sync_instead(shop_db: Path) -> None:
    async with Client(build_server(shop_db)) as client:
        result = await client.call_tool("run_sync", {})
    assert result.is_error and "square-bi sync" in _text(result)


async def test_run_sync_syncs_in_the_background_and_sync_status_then_shows_it(shop: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "fresh.duckdb"
    scheduler = SyncScheduler(demo_settings(shop.base_url), db, timedelta(hours=1))
    async with Client(build_server(db, scheduler=scheduler)) as client:
        started = await client.call_tool("run_sync", {"streams": '["orders"]'})
        assert started.structured_content is not None and started.structured_content["started"] is True
        await _until(lambda: scheduler.state.last_finished_at is not None)
        status = await client.call_tool("sync_status", {})
        answer = await client.call_tool("query_metrics", {"metrics": ["order_count"]})
    assert scheduler.state.last_outcome == "succeeded"
    assert status.structured_content is not None and status.structured_content["syncing_enabled"] is True
    assert not answer.is_error and int(answer.structured_content["rows"][0][0]) > 0  # type: ignore[index]


async def test_run_sync_with_an_unknown_stream_lists_the_streams(shop_db: Path, shop: DemoServer) -> None:
    scheduler = SyncScheduler(demo_settings(shop.base_url), shop_db, timedelta(hours=1))
    async with Client(build_server(shop_db, scheduler=scheduler)) as client:
        result = await client.call_tool("run_sync", {"streams": ["orderz"]})
    assert result.is_error and "Did you mean 'orders'" in _text(result)


async def test_the_scheduler_syncs_at_once_when_the_data_is_older_than_the_interval(
    shop: DemoServer, tmp_path: Path
) -> None:
    scheduler = SyncScheduler(demo_settings(shop.base_url), tmp_path / "stale.duckdb", timedelta(minutes=15))
    scheduler.start()
    try:
        await _until(lambda: scheduler.state.last_finished_at is not None)
    finally:
        await scheduler.shutdown()
    assert scheduler.state.last_outcome == "succeeded"


async def test_a_scheduled_sync_skips_its_turn_while_another_process_syncs(shop: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    scheduler = SyncScheduler(demo_settings(shop.base_url), db, timedelta(minutes=15))
    with sync_lock(db):  # as another process would hold it
        state = await scheduler.run_once()
    assert state.last_outcome is not None and state.last_outcome.startswith("skipped")
    assert not (db.with_name("busy.serving.duckdb")).exists()


def test_data_synced_within_the_interval_is_fresh_and_an_unsynced_warehouse_is_stale(
    shop_db: Path, shop: DemoServer, tmp_path: Path
) -> None:
    settings = demo_settings(shop.base_url)
    assert SyncScheduler(settings, shop_db, timedelta(hours=1)).data_is_stale() is False
    assert SyncScheduler(settings, tmp_path / "never.duckdb", timedelta(hours=1)).data_is_stale() is True
