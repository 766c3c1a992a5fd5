"""What wraps every request of the demo merchant: Square's JSON and error envelope, per-endpoint
request statistics (``/__demo/stats``) and the injected faults (latency, rate limits, 5xx,
dropped connections; see ``faults``)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, defaultdict
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import FaultConfig, TokenBucket, request_fate
from .wire import API_ERROR, AUTHENTICATION_ERROR, RATE_LIMIT_ERROR, SquareRequestError

SQUARE_ROUTES = {
    ("GET", "/v2/locations"): "ListLocations",
    ("POST", "/v2/orders/search"): "SearchOrders",
    ("POST", "/v2/orders/batch-retrieve"): "BatchRetrieveOrders",
    ("GET", "/v2/orders/{order_id}"): "RetrieveOrder",
    ("POST", "/v2/catalog/search"): "SearchCatalogObjects",
    ("GET", "/v2/catalog/list"): "ListCatalog",
    ("GET", "/v2/payments"): "ListPayments",
    ("GET", "/v2/refunds"): "ListPaymentRefunds",
    ("GET", "/v2/customers"): "ListCustomers",
    ("POST", "/v2/customers/search"): "SearchCustomers",
    ("POST", "/v2/team-members/search"): "SearchTeamMembers",
}
RESERVED_ORDER_PATHS = ("search", "batch-retrieve")
"""Path segments after ``/v2/orders/`` that are other endpoints, never an order id."""
_ORDER_PATH = re.compile(r"^/v2/orders/([^/]+)$")
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


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status_code=status, media_type="application/json")


def error_response(error: SquareRequestError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    response = json_response(error.envelope(), error.status)
    if headers:
        response.headers.update(headers)
    return response


def endpoint_name(method: str, path: str) -> str:
    """``"GET /v2/payments"``, ``"GET /v2/orders/{order_id}"``, or ``"unmatched"``."""
    if (method, path) in SQUARE_ROUTES:
        return f"{method} {path}"
    match = _ORDER_PATH.match(path)
    if method == "GET" and match and match.group(1) not in RESERVED_ORDER_PATHS:
        return "GET /v2/orders/{order_id}"
    return "unmatched"


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


class StatsMiddleware:
    """Counts every HTTP request except the stats endpoint itself."""

    def __init__(self, app: ASGIApp, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == STATS_PATH:
            await self.app(scope, receive, send)
            return
        endpoint = endpoint_name(scope["method"], scope["path"])
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


def authorization_token(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return str(value.decode("latin-1").partition(" ")[2].strip())
    return ""


class FaultMiddleware:
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
        endpoint = endpoint_name(scope["method"], scope["path"])
        if endpoint in self.faults.forbidden_endpoints:
            error = SquareRequestError(
                403,
                "INSUFFICIENT_SCOPES",
                "The merchant has not given your application sufficient permissions to do this.",
                category=AUTHENTICATION_ERROR,
            )
            await error_response(error)(scope, receive, send)
            return
        self.sequence += 1
        fate = request_fate(self.faults, self.seed, self.sequence)
        if fate.delay_s > 0:
            await asyncio.sleep(fate.delay_s)
        if self.faults.rate_limit_rps is not None:
            token = authorization_token(scope)
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
                response = error_response(error)
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
            await error_response(error)(scope, receive, send)
            return
        if fate.drop:
            self.stats.fault(endpoint, "dropped")
            await self.app(scope, receive, dropping_send(send))
            return
        await self.app(scope, receive, send)


def dropping_send(send: Send) -> Send:
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
