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
"""

from __future__ import annotations

import hmac
import json
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
from .cursors import CursorCodec
from .generator import DemoData
from .orders_search import OrdersIndex, parse_search_orders
from .timefmt import datetime_to_us
from .wire import API_ERROR, AUTHENTICATION_ERROR, Body, SquareRequestError

Clock = Callable[[], datetime]

SQUARE_ROUTES = {
    ("GET", "/v2/locations"): "ListLocations",
    ("POST", "/v2/orders/search"): "SearchOrders",
    ("POST", "/v2/catalog/search"): "SearchCatalogObjects",
}
STATS_PATH = "/__demo/stats"
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


class RequestStats:
    """Requests served per endpoint (``"POST /v2/orders/search"``) and per status code."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def record(self, endpoint: str, status: int) -> None:
        self.requests[endpoint] += 1
        self.statuses[endpoint][str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "total_requests": sum(self.requests.values()),
            "endpoints": {
                endpoint: {"requests": count, "statuses": dict(sorted(self.statuses[endpoint].items()))}
                for endpoint, count in sorted(self.requests.items())
            },
        }


class _StatsMiddleware:
    """Counts every HTTP request except the stats endpoint itself."""

    def __init__(self, app: ASGIApp, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == STATS_PATH:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        endpoint = f"{method} {path}" if (method, path) in SQUARE_ROUTES else "unmatched"
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


def create_app(data: DemoData, access_token: str = "demo-token", *, clock: Clock | None = None) -> Starlette:
    """Build the demo merchant's ASGI app serving ``data``.

    ``clock`` returns the current time (aware, UTC); it pins the open end of order searches and
    defaults to the wall clock. Tests pass a fake one.
    """
    now: Clock = clock or (lambda: datetime.now(UTC))
    secret = f"{data.merchant_id}:{data.config.seed}"
    orders = OrdersIndex(data.orders, CursorCodec(secret, "orders"))
    catalog = CatalogIndex(data.catalog_objects, CursorCodec(secret, "catalog"))
    location_ids = {location["id"] for location in data.locations}
    locations_body = json.dumps({"locations": data.locations}, separators=(",", ":")).encode()
    stats = RequestStats()
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
                return _error_response(error)

        return endpoint

    @square_endpoint
    async def list_locations(request: Request) -> Response:
        return Response(locations_body, media_type="application/json")

    @square_endpoint
    async def search_orders(request: Request) -> Response:
        search = parse_search_orders(Body.parse(await request.body()), location_ids)
        return Response(orders.search(search, datetime_to_us(now())), media_type="application/json")

    @square_endpoint
    async def search_catalog(request: Request) -> Response:
        search = parse_search_catalog(Body.parse(await request.body()))
        return _json(catalog.search(search))

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
    app.add_middleware(_StatsMiddleware, stats=stats)
    app.state.stats = stats
    app.state.data = data
    return app
