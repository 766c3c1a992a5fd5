"""Injected faults of the demo merchant, over real HTTP, and the real extractor surviving them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from square_demo_support import TOKEN, SquareSchemas

from square_bi.config import Settings
from square_bi.extract.runner import MAX_CURSOR_RESTARTS
from square_bi.square.demo import DemoConfig, DemoData, DemoServer, generate
from square_bi.square.demo.faults import FaultConfig, is_malformed, request_fate
from square_bi.warehouse.sync import sync_warehouse

SMALL = DemoConfig(seed=3, days=7, orders_per_day=60, anchor=datetime(2026, 11, 2, tzinfo=UTC))
ORDERS = "POST /v2/orders/search"
CATALOG = "POST /v2/catalog/search"
LOCATIONS = "GET /v2/locations"


@pytest.fixture(scope="module")
def small_data() -> DemoData:
    return generate(SMALL)


@contextmanager
def serving(data: DemoData, faults: FaultConfig, **kwargs: Any) -> Iterator[tuple[DemoServer, httpx.Client]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with (
        DemoServer(data, access_token=TOKEN, faults=faults, **kwargs) as server,
        httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as http,
    ):
        yield server, http


def fault_counts(http: httpx.Client, endpoint: str) -> dict[str, int]:
    counts: dict[str, int] = http.get("/__demo/stats").raise_for_status().json()["endpoints"][endpoint]["faults"]
    return counts


def page_all(
    http: httpx.Client, path: str, body: dict[str, Any], key: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every object of a paginated search (bounded), and every page body."""
    objects: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = http.post(path, json={**body, **({"cursor": cursor} if cursor else {})}).raise_for_status().json()
        pages.append(page)
        objects.extend(page.get(key, []))
        cursor = page.get("cursor")
        if not cursor:
            return objects, pages
    raise AssertionError("paging did not end within 1000 pages")


def orders_body(data: DemoData, limit: int, **extra: Any) -> dict[str, Any]:
    return {"location_ids": [loc["id"] for loc in data.locations], "limit": limit, **extra}


def test_an_empty_rate_limit_bucket_answers_429_in_squares_envelope_with_retry_after_only_where_seeded(
    small_data: DemoData, square_schemas: SquareSchemas
) -> None:
    # 0.1 rps: one request in the bucket, the next token only after 10 s, so every later call is throttled.
    faults = FaultConfig(seed=9, rate_limit_rps=0.1)
    with serving(small_data, faults) as (_, http):
        responses = [http.get("/v2/locations") for _ in range(12)]
        other_token = http.get("/v2/locations", headers={"Authorization": "Bearer someone-else"})
        counts = fault_counts(http, LOCATIONS)
    assert [r.status_code for r in responses] == [200] + [429] * 11
    for sequence, response in enumerate(responses[1:], start=2):
        (error,) = square_schemas.check_errors(response.json())
        assert (error["category"], error["code"]) == ("RATE_LIMIT_ERROR", "RATE_LIMITED")
        if request_fate(faults, 9, sequence).retry_after:
            assert response.headers["Retry-After"].isdigit()
            assert 1 <= int(response.headers["Retry-After"]) <= 10
        else:
            assert "Retry-After" not in response.headers
    with_header = sum("Retry-After" in r.headers for r in responses[1:])
    assert 0 < with_header < 11
    assert other_token.status_code == 401  # its own bucket: not throttled, just not authorised
    assert counts["rate_limited"] == 11


def test_server_errors_hit_exactly_the_requests_the_seed_picks_before_any_work(
    small_data: DemoData, square_schemas: SquareSchemas
) -> None:
    faults = FaultConfig(seed=4, error_rate=0.3)
    n = 60
    with serving(small_data, faults) as (_, http):
        responses = [http.get("/v2/locations") for _ in range(n)]
        counts = fault_counts(http, LOCATIONS)
    expected = [request_fate(faults, 4, sequence).server_error or 200 for sequence in range(1, n + 1)]
    assert [r.status_code for r in responses] == expected
    failed = [r for r in responses if r.status_code != 200]
    assert 0.15 * n <= len(failed) <= 0.45 * n
    assert {r.status_code for r in failed} == {500, 503}
    for response in failed:
        (error,) = square_schemas.check_errors(response.json())
        expected_code = "INTERNAL_SERVER_ERROR" if response.status_code == 500 else "SERVICE_UNAVAILABLE"
        assert (error["category"], error["code"]) == ("API_ERROR", expected_code)
    assert counts["server_errors"] == len(failed)


def test_a_server_error_comes_before_the_work_so_a_cursor_stays_usable(small_data: DemoData) -> None:
    faults = FaultConfig(seed=4, error_rate=0.5)
    with serving(small_data, faults) as (_, http):
        orders: list[dict[str, Any]] = []
        cursor = None
        for _ in range(500):
            response = http.post("/v2/orders/search", json=orders_body(small_data, 50, cursor=cursor))
            if response.status_code >= 500:
                continue  # retry the same cursor
            page = response.raise_for_status().json()
            orders.extend(page.get("orders", []))
            cursor = page.get("cursor")
            if cursor is None:
                break
    assert Counter(o["id"] for o in orders) == Counter(o["id"] for o in small_data.orders)


def test_a_dropped_connection_raises_a_transport_error_in_httpx_and_stats_are_never_faulted(
    small_data: DemoData,
) -> None:
    faults = FaultConfig(drop_rate=1.0, error_rate=1.0)
    with DemoServer(small_data, access_token=TOKEN, faults=FaultConfig(drop_rate=1.0)) as server:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            with pytest.raises(httpx.TransportError):
                http.get("/v2/locations", headers={"Authorization": f"Bearer {TOKEN}"})
            with pytest.raises(httpx.TransportError):
                http.post(
                    "/v2/orders/search",
                    json=orders_body(small_data, 100),
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
            stats = http.get("/__demo/stats")
        assert stats.status_code == 200
        assert stats.json()["endpoints"][LOCATIONS]["faults"]["dropped"] == 1
        assert stats.json()["endpoints"][ORDERS]["faults"]["dropped"] == 1
    with DemoServer(small_data, access_token=TOKEN, faults=faults) as server:
        assert httpx.get(f"{server.base_url}/__demo/stats", timeout=10).status_code == 200


def test_a_cursor_older_than_the_ttl_gets_400_invalid_cursor(
    small_data: DemoData, square_schemas: SquareSchemas
) -> None:
    now = [SMALL.resolved_anchor() + timedelta(days=1)]
    faults = FaultConfig(cursor_ttl_s=60)
    with serving(small_data, faults, clock=lambda: now[0]) as (_, http):
        first = http.post("/v2/orders/search", json=orders_body(small_data, 10)).raise_for_status().json()
        now[0] += timedelta(seconds=59)
        second = http.post("/v2/orders/search", json=orders_body(small_data, 10, cursor=first["cursor"]))
        now[0] += timedelta(seconds=61)
        expired = http.post("/v2/orders/search", json=orders_body(small_data, 10, cursor=second.json()["cursor"]))
        counts = fault_counts(http, ORDERS)
    assert second.status_code == 200
    assert expired.status_code == 400
    (error,) = square_schemas.check_errors(expired.json())
    assert (error["category"], error["code"], error["field"]) == ("INVALID_REQUEST_ERROR", "INVALID_CURSOR", "cursor")
    assert counts["cursor_expiries"] == 1


@pytest.mark.parametrize("sort_order", ["ASC", "DESC"])
def test_empty_pages_carry_only_a_cursor_and_paging_on_still_yields_every_order_exactly_once(
    small_data: DemoData, sort_order: str
) -> None:
    sort = {"sort": {"sort_field": "UPDATED_AT", "sort_order": sort_order}}
    with serving(small_data, FaultConfig(seed=2, empty_pages=True)) as (_, http):
        orders, pages = page_all(http, "/v2/orders/search", orders_body(small_data, 25, query=sort), "orders")
        counts = fault_counts(http, ORDERS)
    empty = [page for page in pages if "orders" not in page]
    assert empty, "no empty page was served"
    assert all(set(page) == {"cursor"} for page in empty)
    assert counts["empty_pages"] == len(empty)
    assert Counter(o["id"] for o in orders) == Counter(o["id"] for o in small_data.orders)


def test_empty_catalog_pages_still_yield_every_catalog_object_exactly_once(small_data: DemoData) -> None:
    body = {"object_types": ["ITEM", "ITEM_VARIATION", "CATEGORY"], "include_deleted_objects": True, "limit": 5}
    with serving(small_data, FaultConfig()) as (_, http):
        expected, _ = page_all(http, "/v2/catalog/search", body, "objects")
    with serving(small_data, FaultConfig(seed=2, empty_pages=True)) as (_, http):
        objects, pages = page_all(http, "/v2/catalog/search", body, "objects")
        counts = fault_counts(http, CATALOG)
    empty = [page for page in pages if "objects" not in page]
    assert empty
    assert all("cursor" in page for page in empty)
    assert counts["empty_pages"] == len(empty)
    assert objects == expected


def test_malformed_orders_are_exactly_those_is_malformed_predicts_and_always_broken_the_same_way(
    small_data: DemoData,
) -> None:
    faults = FaultConfig(seed=5, malformed_rate=0.1)
    originals = {o["id"]: o for o in small_data.orders}
    with serving(small_data, faults) as (_, http):
        first, _ = page_all(http, "/v2/orders/search", orders_body(small_data, 100), "orders")
        again, _ = page_all(http, "/v2/orders/search", orders_body(small_data, 100), "orders")
        counts = fault_counts(http, ORDERS)
    assert first == again
    predicted = {order_id for order_id in originals if is_malformed(order_id, faults)}
    changed = {o["id"] for o in first if o != originals[o["id"]]}
    assert changed == predicted
    assert 0.05 * len(originals) < len(predicted) < 0.15 * len(originals)
    for order in first:
        if order["id"] in predicted:
            missing_quantity = any("quantity" not in item for item in order.get("line_items", []))
            assert order["version"] == "x" or missing_quantity
    assert counts["malformed_records"] == 2 * len(predicted)


def test_latency_delays_each_request_without_blocking_the_others(small_data: DemoData) -> None:
    faults = FaultConfig(latency_ms=300, latency_jitter_ms=50)

    async def five_at_once(base_url: str) -> float:
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            started = time.perf_counter()
            responses = await asyncio.gather(*(client.get("/v2/locations", timeout=10) for _ in range(5)))
            assert all(r.status_code == 200 for r in responses)
            return time.perf_counter() - started

    with DemoServer(small_data, access_token=TOKEN, faults=faults) as server:
        elapsed = asyncio.run(five_at_once(server.base_url))
    assert 0.3 <= elapsed < 1.2  # five sequential 300 ms waits would take at least 1.5 s


class JumpingClock:
    """The wall clock, jumping an hour ahead at every ``every``-th reading.

    The app reads its clock when it serves an orders page (pinning the open end), checks a cursor
    and issues one. Every cursor in flight across a jump is checked after it and has expired, and
    jumps keep coming for as long as the sync pages, so expiries happen however the requests
    interleave (a single early jump could land where no cursor was in flight).
    """

    def __init__(self, every: int) -> None:
        self.every = every
        self.readings = 0
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.readings += 1
            skew = timedelta(hours=self.readings // self.every)
        return datetime.now(UTC) + skew


def test_the_real_extractor_stages_every_valid_order_exactly_once_through_every_fault(
    small_data: DemoData, tmp_path: Path
) -> None:
    faults = FaultConfig(
        seed=1,
        error_rate=0.1,
        drop_rate=0.02,
        rate_limit_rps=8,
        empty_pages=True,
        cursor_ttl_s=20,
        malformed_rate=0.05,
    )
    # The clock's hour-long jumps make the sync outlast the cursor TTL, so at least one cursor expires.
    # (A TTL of a few wall-clock seconds made every cursor expire on a loaded machine, where waiting
    # for the 8 rps rate limit alone can take that long: the sync then crawled one page per restart.)
    clock = JumpingClock(every=15)
    db = tmp_path / "faults.duckdb"
    with DemoServer(small_data, access_token=TOKEN, faults=faults, clock=clock) as server:
        settings = Settings(SQUARE_ACCESS_TOKEN=TOKEN, SQUARE_BASE_URL=server.base_url, orders_page_size=40)
        result = asyncio.run(asyncio.wait_for(sync_warehouse(settings, db), timeout=120))
        stats = httpx.get(f"{server.base_url}/__demo/stats", timeout=10).json()["endpoints"]

    assert result.report.ok, result.report.failed
    malformed = {o["id"] for o in small_data.orders if is_malformed(o["id"], faults)}
    expected = {o["id"]: o["version"] for o in small_data.orders if o["id"] not in malformed}
    with duckdb.connect(str(db), read_only=True) as con:
        staged = con.execute("SELECT id, version FROM stg_orders").fetchall()
        dead = {r for (r,) in con.execute("SELECT record_id FROM dead_letters WHERE stream = 'orders'").fetchall()}
    assert Counter(order_id for order_id, _ in staged) == Counter(list(expected))
    assert dict(staged) == expected
    assert malformed and dead == malformed
    injected = Counter[str]()
    for endpoint in (LOCATIONS, CATALOG, ORDERS):
        injected.update(stats.get(endpoint, {}).get("faults", {}))
    assert injected["server_errors"] > 0
    assert injected["empty_pages"] > 0
    assert injected["malformed_records"] >= len(malformed)
    assert injected["cursor_expiries"] > 0
    assert result.report.streams["orders"].cursor_restarts > 0


def test_emulator_help_lists_every_fault_flag_and_bad_values_are_one_line_errors() -> None:
    def emulator(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "square_bi.cli", "emulator", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    done = emulator("--help")
    assert done.returncode == 0
    for flag in (
        "--latency-ms",
        "--latency-jitter-ms",
        "--rate-limit",
        "--error-rate",
        "--drop-rate",
        "--cursor-ttl",
        "--empty-pages",
        "--malformed-rate",
    ):
        assert flag in done.stdout
    for bad in (["--error-rate", "2"], ["--rate-limit", "0"], ["--cursor-ttl", "-1"], ["--latency-ms", "-5"]):
        done = emulator(*bad, "--port", "0")
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("square-bi: error: ") and bad[0] in lines[0]
        assert "Traceback" not in done.stderr


def test_a_sync_whose_every_cursor_expires_still_finishes_one_page_per_restart(
    small_data: DemoData, tmp_path: Path
) -> None:
    # Each clock reading is an hour after the last: every cursor has expired by the time it is used,
    # so each page after a partition's first needs a restart (from the newest updated_at read).
    faults = FaultConfig(seed=1, cursor_ttl_s=20)
    db = tmp_path / "expiring.duckdb"
    with DemoServer(small_data, access_token=TOKEN, faults=faults, clock=JumpingClock(every=1)) as server:
        settings = Settings(SQUARE_ACCESS_TOKEN=TOKEN, SQUARE_BASE_URL=server.base_url, orders_page_size=40)
        result = asyncio.run(asyncio.wait_for(sync_warehouse(settings, db, streams=["orders"]), timeout=120))

    assert result.report.ok, result.report.failed
    assert result.report.streams["orders"].cursor_restarts > MAX_CURSOR_RESTARTS
    with duckdb.connect(str(db), read_only=True) as con:
        staged = con.execute("SELECT id, version FROM stg_orders").fetchall()
    assert Counter(order_id for order_id, _ in staged) == Counter(o["id"] for o in small_data.orders)
    assert dict(staged) == {o["id"]: o["version"] for o in small_data.orders}
