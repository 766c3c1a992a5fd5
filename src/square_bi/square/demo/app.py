"""The demo merchant as an ASGI app that speaks Square's wire format.

Routes (all JSON; every ``/v2`` route needs ``Authorization: Bearer <access_token>``):

* ``GET /v2/locations`` -> ``ListLocationsResponse`` (all locations, alphabetical by name);
* ``POST /v2/orders/search`` -> ``SearchOrdersResponse`` (see ``orders_search``);
* ``POST /v2/catalog/search`` -> ``SearchCatalogObjectsResponse`` (see ``catalog_search``);
* ``GET /__demo/stats`` -> requests served per endpoint and status (demo only, no auth).

Errors use Square's envelope ``{"errors": [{"category", "code", "detail", "field"?}]}``: 401
``AUTHENTICATION_ERROR``/``UNAUTHORIZED`` for a missing, malformed or wrong token, 400
``INVALID_REQUEST_ERROR`` for bad bodies, 404 ``NOT_FOUND`` for unknown paths, 405
``METHOD_NOT_ALLOWED`` and 500 ``INTERNAL_SERVER_ERROR`` (category ``API_ERROR``).

``faults=FaultConfig(...)`` injects latency, 429s, 5xx, dropped connections, expiring cursors,
empty pages and malformed orders into ``/v2`` requests (see ``faults``); the stats then also
count them per endpoint.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .catalog_search import CatalogIndex, parse_search_catalog
from .cursors import CursorCodec, ExpiredCursorError
from .faults import NO_FAULTS, FaultConfig, TokenBucket, is_malformed, malform, request_fate, wants_empty_page
from .generator import DemoData
from .orders_search import OrdersIndex, parse_search_orders
from .timefmt import datetime_to_us
from .wire import API_ERROR, AUTHENTICATION_ERROR, RATE_LIMIT_ERROR, Body, SquareRequestError

Clock = Callable[[], datetime]

SQUARE_ROUTES = {
    ("GET", "/v2/locations"): "ListLocations",
    ("POST", "/v2/orders/search"): "SearchOrders",
    ("POST", "/v2/catalog/search"): "SearchCatalogObjects",
}
STATS_PATH = "/__demo/stats"
FAULT_KINDS = (
    "rate_limited",
    "server_errors",
    "dropped",
    "empty_pages",
    "malformed_records",
    "cursor_expiries",
)
"""Fault counters reported per endpoint by ``/__demo/stats`` when faults are enabled."""
MALFORMED_AUTHORIZATION = (
    "The `Authorization` http header of your request was malformed. The header value is expected "
    'to be of the format "Bearer TOKEN" (without quotation marks), where TOKEN is to be replaced '
    'with your access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status_code=status, media_type="application/json")


def _error_response(error: SquareRequestError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    response = _json(error.envelope(), error.status)
    if headers:
        response.headers.update(headers)
    return response


def _endpoint(method: str, path: str) -> str:
    return f"{method} {path}" if (method, path) in SQUARE_ROUTES else "unmatched"


class RequestStats:
    """Requests served per endpoint (``"POST /v2/orders/search"``) and per status code, plus (with
    ``report_faults``) the injected faults per endpoint (``FAULT_KINDS``)."""

    def __init__(self, *, report_faults: bool = False) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.faults: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.report_faults = report_faults

    def record(self, endpoint: str, status: int) -> None:
        self.requests[endpoint] += 1
        self.statuses[endpoint][str(status)] += 1

    def fault(self, endpoint: str, kind: str, count: int = 1) -> None:
        assert kind in FAULT_KINDS, kind
        self.faults[endpoint][kind] += count

    def snapshot(self) -> dict[str, Any]:
        endpoints: dict[str, Any] = {}
        for endpoint, count in sorted(self.requests.items()):
            entry: dict[str, Any] = {"requests": count, "statuses": dict(sorted(self.statuses[endpoint].items()))}
            if self.report_faults:
                entry["faults"] = {kind: self.faults[endpoint][kind] for kind in FAULT_KINDS}
            endpoints[endpoint] = entry
        return {"total_requests": sum(self.requests.values()), "endpoints": endpoints}


class _StatsMiddleware:
    """Counts every HTTP request except the stats endpoint itself."""

    def __init__(self, app: ASGIApp, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == STATS_PATH:
            await self.app(scope, receive, send)
            return
        endpoint = _endpoint(scope["method"], scope["path"])
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.stats.record(endpoint, status)


class DroppedConnection(Exception):
    """Raised mid-response to make the server abort the connection (the ``drop_rate`` fault)."""


def _authorization_token(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return str(value.decode("latin-1").partition(" ")[2].strip())
    return ""


class _FaultMiddleware:
    """Latency, rate limits, 5xx and dropped connections for ``/v2`` requests, decided per request."""

    def __init__(self, app: ASGIApp, faults: FaultConfig, seed: int, stats: RequestStats) -> None:
        self.app = app
        self.faults = faults
        self.seed = seed
        self.stats = stats
        self.sequence = 0
        self.buckets: dict[str, TokenBucket] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v2/"):
            await self.app(scope, receive, send)
            return
        endpoint = _endpoint(scope["method"], scope["path"])
        self.sequence += 1
        fate = request_fate(self.faults, self.seed, self.sequence)
        if fate.delay_s > 0:
            await asyncio.sleep(fate.delay_s)
        if self.faults.rate_limit_rps is not None:
            token = _authorization_token(scope)
            now = time.monotonic()
            bucket = self.buckets.setdefault(token, TokenBucket(self.faults.rate_limit_rps, now))
            if not bucket.take(now):
                self.stats.fault(endpoint, "rate_limited")
                error = SquareRequestError(
                    429,
                    "RATE_LIMITED",
                    "Too many requests: the demo merchant's rate limit "
                    f"({self.faults.rate_limit_rps:g} requests per second per access token) was exceeded.",
                    category=RATE_LIMIT_ERROR,
                )
                response = _error_response(error)
                if fate.retry_after:
                    response.headers["Retry-After"] = str(bucket.retry_after_s())
                await response(scope, receive, send)
                return
        if fate.server_error is not None:
            self.stats.fault(endpoint, "server_errors")
            if fate.server_error == 503:
                error = SquareRequestError(
                    503, "SERVICE_UNAVAILABLE", "The demo merchant is temporarily unavailable.", category=API_ERROR
                )
            else:
                error = SquareRequestError(
                    500, "INTERNAL_SERVER_ERROR", "The demo merchant failed (injected fault).", category=API_ERROR
                )
            await _error_response(error)(scope, receive, send)
            return
        if fate.drop:
            self.stats.fault(endpoint, "dropped")
            await self.app(scope, receive, _dropping_send(send))
            return
        await self.app(scope, receive, send)


def _dropping_send(send: Send) -> Send:
    """Forwards the response head and half of the first body chunk, then aborts the response."""

    async def dropping_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            await send(message)
            return
        if message["type"] == "http.response.body":
            body: bytes = message.get("body", b"")
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise DroppedConnection("connection dropped mid-response (injected fault)")
        await send(message)

    return dropping_send


def create_app(
    data: DemoData,
    access_token: str = "demo-token",
    *,
    clock: Clock | None = None,
    faults: FaultConfig | None = None,
) -> Starlette:
    """Build the demo merchant's ASGI app serving ``data``.

    ``clock`` returns the current time (aware, UTC); it pins the open end of order searches, ages
    cursors when ``faults.cursor_ttl_s`` is set, and defaults to the wall clock. Tests pass a fake
    one. ``faults`` switches on injected faults (none by default).
    """
    now: Clock = clock or (lambda: datetime.now(UTC))
    faults = faults or NO_FAULTS
    fault_seed = faults.resolved_seed(data.config.seed)
    secret = f"{data.merchant_id}:{data.config.seed}"
    ttl_us = None if faults.cursor_ttl_s is None else round(faults.cursor_ttl_s * 1_000_000)

    def codec(endpoint: str) -> CursorCodec:
        return CursorCodec(secret, endpoint, ttl_us=ttl_us, clock_us=lambda: datetime_to_us(now()))

    def empty_policy(endpoint: str) -> Callable[[str, int], bool] | None:
        if not faults.empty_pages:
            return None
        return lambda query_fingerprint, position: wants_empty_page(fault_seed, endpoint, query_fingerprint, position)

    malformed_ids = {o["id"] for o in data.orders if is_malformed(o["id"], faults, data.config.seed)}
    served_orders = [malform(o, fault_seed) if o["id"] in malformed_ids else o for o in data.orders]
    orders = OrdersIndex(served_orders, codec("orders"), empty_page=empty_policy("orders"))
    catalog = CatalogIndex(data.catalog_objects, codec("catalog"), empty_page=empty_policy("catalog"))
    location_ids = {location["id"] for location in data.locations}
    locations_body = json.dumps({"locations": data.locations}, separators=(",", ":")).encode()
    stats = RequestStats(report_faults=faults.enabled)
    expected_token = access_token.encode()

    def authorize(request: Request) -> None:
        header = request.headers.get("authorization")
        if header is None:
            raise SquareRequestError(
                401, "UNAUTHORIZED", "This request could not be authorized.", category=AUTHENTICATION_ERROR
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SquareRequestError(
                401,
                "UNAUTHORIZED",
                MALFORMED_AUTHORIZATION,
                category=AUTHENTICATION_ERROR,
            )
        if not hmac.compare_digest(token.strip().encode(), expected_token):
            raise SquareRequestError(
                401, "UNAUTHORIZED", "This request could not be authorized.", category=AUTHENTICATION_ERROR
            )

    def square_endpoint(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                authorize(request)
                return await handler(request)
            except SquareRequestError as error:
                if isinstance(error, ExpiredCursorError):
                    stats.fault(_endpoint(request.method, request.url.path), "cursor_expiries")
                return _error_response(error)

        return endpoint

    @square_endpoint
    async def list_locations(request: Request) -> Response:
        return Response(locations_body, media_type="application/json")

    @square_endpoint
    async def search_orders(request: Request) -> Response:
        search = parse_search_orders(Body.parse(await request.body()), location_ids)
        page = orders.page(search, datetime_to_us(now()))
        endpoint = "POST /v2/orders/search"
        if page.empty:
            stats.fault(endpoint, "empty_pages")
        broken = sum(order_id in malformed_ids for order_id in page.order_ids)
        if broken and not search.return_entries:
            stats.fault(endpoint, "malformed_records", broken)
        return Response(page.body, media_type="application/json")

    @square_endpoint
    async def search_catalog(request: Request) -> Response:
        search = parse_search_catalog(Body.parse(await request.body()))
        response = catalog.search(search)
        if "cursor" in response and "objects" not in response:
            stats.fault("POST /v2/catalog/search", "empty_pages")
        return _json(response)

    async def demo_stats(request: Request) -> Response:
        return _json(stats.snapshot())

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            error = SquareRequestError(404, "NOT_FOUND", f"No endpoint matches {request.method} {request.url.path}.")
        elif exc.status_code == 405:
            error = SquareRequestError(
                405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.url.path}."
            )
        else:
            error = SquareRequestError(exc.status_code, "BAD_REQUEST", str(exc.detail))
        response = _error_response(error)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        error = SquareRequestError(
            500,
            "INTERNAL_SERVER_ERROR",
            f"The demo merchant failed: {type(exc).__name__}.",
            category=API_ERROR,
        )
        return _error_response(error)

    app = Starlette(
        routes=[
            Route("/v2/locations", list_locations, methods=["GET"]),
            Route("/v2/orders/search", search_orders, methods=["POST"]),
            Route("/v2/catalog/search", search_catalog, methods=["POST"]),
            Route(STATS_PATH, demo_stats, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    if faults.enabled:
        app.add_middleware(_FaultMiddleware, faults=faults, seed=fault_seed, stats=stats)
    app.add_middleware(_StatsMiddleware, stats=stats)  # outermost: it also counts injected faults
    app.state.stats = stats
    app.state.data = data
    app.state.faults = faults
    return app
