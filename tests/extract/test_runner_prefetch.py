"""A partition asks for its next page as soon as it knows the cursor, and validates and stages the
page it has while that request travels."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from shop_support import extract
from square_bi.extract import runner
from square_bi.extract.runner import Extractor, SyncOptions
from square_bi.extract.streams import ORDERS, RawPage
from square_bi.square.demo import DemoServer

Event = tuple[str, str | None]


def _record_events(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """("got", cursor) when a page of orders arrives, ("sent", cursor) when the request for the
    page after that cursor reaches httpx's transport, ("validated", None) when a page of orders is
    validated."""
    events: list[Event] = []

    handle = httpx.AsyncHTTPTransport.handle_async_request

    async def sending(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orders/search"):
            events.append(("sent", json.loads(request.content).get("cursor")))
        return await handle(self, request)

    fetch = Extractor._fetch

    async def fetching(self: Extractor, stream: Any, request: Any, stats: Any) -> RawPage:
        page = await fetch(self, stream, request, stats)
        if stream.name == "orders":
            events.append(("got", page.cursor))
        return page

    validate = runner.validate_objects

    def validating(schema: Any, objects: Any, primary_key: str = "id") -> Any:
        if schema is ORDERS.record:
            events.append(("validated", None))
        return validate(schema, objects, primary_key)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", sending)
    monkeypatch.setattr(Extractor, "_fetch", fetching)
    monkeypatch.setattr(runner, "validate_objects", validating)
    return events


def _asked_before_validating(events: list[Event]) -> list[bool]:
    """For each page of orders that has a next page: whether the request for that next page was
    sent before the page was validated."""
    asked = []
    for index, (kind, cursor) in enumerate(events):
        if kind == "got" and cursor is not None:
            validated = events.index(("validated", None), index)
            asked.append(("sent", cursor) in events[index:validated])
    return asked


def test_the_request_for_the_next_page_is_sent_before_the_page_in_hand_is_validated(
    shop: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _record_events(monkeypatch)
    # One partition fetches at a time, so each page's events follow one another undisturbed.
    options = SyncOptions(orders_page_size=20, max_concurrency=1, streams=["locations", "orders"])

    _, report = asyncio.run(extract(shop.base_url, tmp_path / "prefetch.duckdb", options))
    assert report.ok, report.failed

    asked = _asked_before_validating(events)
    assert len(asked) > 10  # the partitions had several pages each
    assert all(asked)


def test_a_partition_whose_allowance_holds_fewer_than_three_pages_asks_for_the_next_only_after_validating(
    shop: DemoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _record_events(monkeypatch)
    monkeypatch.setattr(runner, "COMMIT_AHEAD_ROWS", 2 * 20)  # two 20-order pages: staged, and waiting
    options = SyncOptions(orders_page_size=20, max_concurrency=1, streams=["locations", "orders"])

    _, report = asyncio.run(extract(shop.base_url, tmp_path / "no-prefetch.duckdb", options))
    assert report.ok, report.failed

    asked = _asked_before_validating(events)
    assert len(asked) > 10
    assert not any(asked)
