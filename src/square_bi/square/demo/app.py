"""The demo merchant as an ASGI app that speaks Square's wire format.

Routes (all JSON; every ``/v2`` route needs ``Authorization: Bearer <access_token>``):

* ``GET /v2/locations`` -> ``ListLocationsResponse`` (all locations, alphabetical by name);
* ``POST /v2/orders/search`` -> ``SearchOrdersResponse`` (see ``orders_search``);
* ``POST /v2/orders/batch-retrieve`` -> ``BatchRetrieveOrdersResponse`` and
  ``GET /v2/orders/{order_id}`` -> ``RetrieveOrderResponse`` (see ``orders_lookup``);
* ``POST /v2/catalog/search`` -> ``SearchCatalogObjectsResponse`` and ``GET /v2/catalog/list``
  -> ``ListCatalogResponse`` (see ``catalog_search``);
* ``GET /v2/payments`` -> ``ListPaymentsResponse`` and ``GET /v2/refunds`` ->
  ``ListPaymentRefundsResponse`` (see ``ledger_search``);
* ``GET /v2/customers`` -> ``ListCustomersResponse``, ``POST /v2/customers/search`` ->
  ``SearchCustomersResponse`` and ``POST /v2/team-members/search`` ->
  ``SearchTeamMembersResponse`` (see ``people_search``);
* ``GET /__demo/stats`` -> requests served per endpoint and status (demo only, no auth); with a
  live merchant also ``live``: the simulated now and the changes applied per kind.

Errors use Square's envelope ``{"errors": [{"category", "code", "detail", "field"?}]}``: 401
``AUTHENTICATION_ERROR``/``UNAUTHORIZED`` for a missing, malformed or wrong token, 400
``INVALID_REQUEST_ERROR`` for bad bodies and query parameters, 404 ``NOT_FOUND`` for unknown
paths and orders, 405 ``METHOD_NOT_ALLOWED`` and 500 ``INTERNAL_SERVER_ERROR`` (category
``API_ERROR``).

``faults=FaultConfig(...)`` injects latency, 429s, 5xx, dropped connections, expiring cursors,
empty pages (every paged endpoint) and malformed orders into ``/v2`` requests (see ``faults``);
the stats then also count them per endpoint.

``live=LiveConfig(...)`` (or a ready :class:`~.live.LiveMerchant`) makes the data change as the
clock advances (see ``live``): every request first reads the clock once, applies the changes due
by then (``LiveMerchant.advance_to``) and answers as of that reading (it also pins open ends), so a
query pinned at ``T`` never sees a change made after ``T``. Without a ``clock`` a live app runs a
:class:`~.live.SimulatedClock` starting at ``data.anchor`` at ``LiveConfig.speed``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .catalog_search import CatalogIndex, parse_list_catalog, parse_search_catalog
from .cursors import CursorCodec, ExpiredCursorError
from .faults import NO_FAULTS, FaultConfig, is_malformed, malform, wants_empty_page
from .generator import DemoData
from .ledger_search import LedgerIndex, parse_ledger_query
from .listing import Page
from .live import LiveChanges, LiveConfig, LiveMerchant, SimulatedClock
from .middleware import (
    FAULT_KINDS,
    RESERVED_ORDER_PATHS,
    SQUARE_ROUTES,
    STATS_PATH,
    DroppedConnection,
    FaultMiddleware,
    RequestStats,
    StatsMiddleware,
    endpoint_name,
    error_response,
    json_response,
)
from .orders_lookup import OrdersLookup
from .orders_search import OrdersIndex, parse_search_orders
from .params import QueryParams
from .people_search import (
    CustomerIndex,
    TeamIndex,
    parse_list_customers,
    parse_search_customers,
    parse_search_team_members,
)
from .timefmt import datetime_to_us
from .wire import API_ERROR, AUTHENTICATION_ERROR, Body, SquareRequestError

Clock = Callable[[], datetime]

__all__ = ["FAULT_KINDS", "SQUARE_ROUTES", "STATS_PATH", "Clock", "DroppedConnection", "RequestStats", "create_app"]

MALFORMED_AUTHORIZATION = (
    "The `Authorization` http header of your request was malformed. The header value is expected "
    'to be of the format "Bearer TOKEN" (without quotation marks), where TOKEN is to be replaced '
    'with your access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)


def create_app(
    data: DemoData,
    access_token: str = "demo-token",
    *,
    clock: Clock | None = None,
    faults: FaultConfig | None = None,
    live: LiveConfig | LiveMerchant | None = None,
) -> Starlette:
    """Build the demo merchant's ASGI app serving ``data``.

    ``clock`` returns the current time (aware, UTC); it pins the open end of order searches, ages
    cursors when ``faults.cursor_ttl_s`` is set, and defaults to the wall clock. Tests pass a fake
    one. ``faults`` switches on injected faults (none by default). ``live`` makes the data change
    with the clock (see the module docstring); the merchant is ``app.state.live``.
    """
    merchant = LiveMerchant(data, live) if isinstance(live, LiveConfig) else live
    if clock is None and merchant is not None:
        clock = SimulatedClock(data.anchor, merchant.config.speed)
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

    store = data.orders
    malformed: dict[int, bytes] = {}  # row -> the broken JSON served instead (see ``faults``)
    malformed_ids: set[str] = set()

    def break_if_malformed(row: int) -> None:
        order_id = store.ids[row]
        if is_malformed(order_id, faults, data.config.seed):
            malformed[row] = orjson.dumps(malform(store.object(row), fault_seed))
            malformed_ids.add(order_id)

    if faults.malformed_rate > 0:
        for row in range(len(store)):
            break_if_malformed(row)

    def order_json(row: int) -> bytes:
        broken = malformed.get(row)
        return store.json(row) if broken is None else broken

    orders = OrdersIndex(store, codec("orders"), empty_page=empty_policy("orders"), json_of=order_json)
    lookup = OrdersLookup(store, order_json)
    catalog = CatalogIndex(data.catalog_objects, codec("catalog"), empty_page=empty_policy("catalog"))
    catalog_list = CatalogIndex(data.catalog_objects, codec("catalog-list"), empty_page=empty_policy("catalog-list"))
    payments = LedgerIndex(data.payments, codec("payments"), "payments", empty_page=empty_policy("payments"))
    refunds = LedgerIndex(data.refunds, codec("refunds"), "refunds", empty_page=empty_policy("refunds"))
    customers = CustomerIndex(data.customers, codec("customers"), empty_page=empty_policy("customers"))
    team = TeamIndex(data.team_members, codec("team-members"), empty_page=empty_policy("team-members"))

    def apply(changes: LiveChanges) -> None:
        for order in changes.orders.values():
            orders.upsert(order)
            lookup.upsert(order)
            row = store.row(order["id"])
            if row is not None:
                malformed.pop(row, None)
                break_if_malformed(row)
        for obj in changes.catalog_objects.values():
            catalog.upsert(obj)
            catalog_list.upsert(obj)
        for payment in changes.payments.values():
            payments.upsert(payment)
        for refund in changes.refunds.values():
            refunds.upsert(refund)
        for customer in changes.customers.values():
            customers.upsert(customer)

    if merchant is not None:
        merchant.subscribe(apply)
    location_ids = {location["id"] for location in data.locations}
    main_location_id = data.main_location_id
    anchor_us = datetime_to_us(data.anchor)
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

    def current(request: Request) -> datetime:
        """The request's time: the reading the live data was advanced to, else the clock now."""
        pinned: datetime | None = getattr(request.state, "now", None)
        return pinned if pinned is not None else now()

    def square_endpoint(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                authorize(request)
                if merchant is None:
                    return await handler(request)
                await request.body()  # read before taking the lock: the handler gets it cached
                with merchant.lock:
                    request.state.now = now()
                    merchant.advance_to(request.state.now)
                    return await handler(request)
            except SquareRequestError as error:
                if isinstance(error, ExpiredCursorError):
                    stats.fault(endpoint_name(request.method, request.url.path), "cursor_expiries")
                return error_response(error)

        return endpoint

    @square_endpoint
    async def list_locations(request: Request) -> Response:
        return Response(locations_body, media_type="application/json")

    @square_endpoint
    async def search_orders(request: Request) -> Response:
        search = parse_search_orders(Body.parse(await request.body()), location_ids)
        page = orders.page(search, datetime_to_us(current(request)))
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
        return json_response(response)

    @square_endpoint
    async def list_catalog(request: Request) -> Response:
        response = catalog_list.search(parse_list_catalog(QueryParams(request.query_params)))
        response.pop("latest_time", None)  # ListCatalogResponse has no latest_time
        if "cursor" in response and "objects" not in response:
            stats.fault("GET /v2/catalog/list", "empty_pages")
        return json_response(response)

    def paged(endpoint: str, page: Page) -> Response:
        if page.empty:
            stats.fault(endpoint, "empty_pages")
        return Response(page.body, media_type="application/json")

    @square_endpoint
    async def batch_retrieve_orders(request: Request) -> Response:
        body, found = lookup.batch(Body.parse(await request.body()), location_ids)
        broken = sum(order_id in malformed_ids for order_id in found)
        if broken:
            stats.fault("POST /v2/orders/batch-retrieve", "malformed_records", broken)
        return Response(body, media_type="application/json")

    @square_endpoint
    async def retrieve_order(request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if order_id in RESERVED_ORDER_PATHS:
            raise SquareRequestError(405, "METHOD_NOT_ALLOWED", f"GET is not allowed on {request.url.path}.")
        QueryParams(request.query_params).reject_unknown(())
        body = lookup.get(order_id)
        if order_id in malformed_ids:
            stats.fault("GET /v2/orders/{order_id}", "malformed_records")
        return Response(body, media_type="application/json")

    @square_endpoint
    async def list_payments(request: Request) -> Response:
        query = parse_ledger_query(
            QueryParams(request.query_params),
            refunds=False,
            location_ids=location_ids,
            default_location=main_location_id,
            anchor_us=anchor_us,
        )
        return paged("GET /v2/payments", payments.page(query, datetime_to_us(current(request))))

    @square_endpoint
    async def list_refunds(request: Request) -> Response:
        query = parse_ledger_query(
            QueryParams(request.query_params),
            refunds=True,
            location_ids=location_ids,
            default_location=main_location_id,
            anchor_us=anchor_us,
        )
        return paged("GET /v2/refunds", refunds.page(query, datetime_to_us(current(request))))

    def with_count(page: Page, count: int | None) -> Page:
        if count is None:
            return page
        body = page.body[:-1] + (b"," if page.body != b"{}" else b"") + f'"count":{count}}}'.encode()
        return Page(body, page.rows, page.empty)

    @square_endpoint
    async def list_customers(request: Request) -> Response:
        page, count = customers.page(parse_list_customers(QueryParams(request.query_params)))
        return paged("GET /v2/customers", with_count(page, count))

    @square_endpoint
    async def search_customers(request: Request) -> Response:
        page, count = customers.page(parse_search_customers(Body.parse(await request.body())))
        return paged("POST /v2/customers/search", with_count(page, count))

    @square_endpoint
    async def search_team_members(request: Request) -> Response:
        page = team.page(parse_search_team_members(Body.parse(await request.body())))
        return paged("POST /v2/team-members/search", page)

    async def demo_stats(request: Request) -> Response:
        snapshot = stats.snapshot()
        if merchant is not None:
            with merchant.lock:
                merchant.advance_to(now())
                snapshot["live"] = merchant.stats()
        return json_response(snapshot)

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
        response = error_response(error)
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
        return error_response(error)

    app = Starlette(
        routes=[
            Route("/v2/locations", list_locations, methods=["GET"]),
            Route("/v2/orders/search", search_orders, methods=["POST"]),
            Route("/v2/orders/batch-retrieve", batch_retrieve_orders, methods=["POST"]),
            Route("/v2/orders/{order_id}", retrieve_order, methods=["GET"]),
            Route("/v2/catalog/search", search_catalog, methods=["POST"]),
            Route("/v2/catalog/list", list_catalog, methods=["GET"]),
            Route("/v2/payments", list_payments, methods=["GET"]),
            Route("/v2/refunds", list_refunds, methods=["GET"]),
            Route("/v2/customers", list_customers, methods=["GET"]),
            Route("/v2/customers/search", search_customers, methods=["POST"]),
            Route("/v2/team-members/search", search_team_members, methods=["POST"]),
            Route(STATS_PATH, demo_stats, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    if faults.enabled:
        app.add_middleware(FaultMiddleware, faults=faults, seed=fault_seed, stats=stats)
    app.add_middleware(StatsMiddleware, stats=stats)  # outermost: it also counts injected faults
    app.state.stats = stats
    app.state.data = data
    app.state.faults = faults
    app.state.live = merchant
    return app
