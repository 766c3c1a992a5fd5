"""Conformance of the payments, refunds, customers, team members, order lookup and catalog list
endpoints: every answer validates against Square's schemas (no undeclared field), every error
is Square's envelope with the expected code, and the bodies we send are valid requests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from square_demo_support import TOKEN, SquareSchemas

from square_bi.square.demo import DemoData

Ids = dict[str, Any]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Callable[[Ids], dict[str, Any]] | None = None
    body: Callable[[Ids], Any] | None = None
    status: int = 200
    code: str | None = None
    request_schema: str | None = None


def _get(path: str, params: Callable[[Ids], dict[str, Any]], status: int = 200, code: str | None = None) -> Call:
    return Call("GET", path, params=params, status=status, code=code)


def _post(path: str, schema: str, body: Callable[[Ids], Any], status: int = 200, code: str | None = None) -> Call:
    return Call("POST", path, body=body, status=status, code=code, request_schema=schema if status == 200 else None)


def _extractor_window(ids: Ids) -> dict[str, Any]:
    return {
        "begin_time": "2009-01-01T00:00:00.000Z",
        "end_time": "2025-03-02T00:00:00.000Z",
        "updated_at_begin_time": "2025-02-20T00:00:00.000Z",
        "updated_at_end_time": "2025-03-02T00:00:00.000Z",
        "sort_field": "UPDATED_AT",
        "sort_order": "ASC",
        "limit": 100,
    }


def _customers(body: Callable[[Ids], Any], status: int = 200, code: str | None = None) -> Call:
    return _post("/v2/customers/search", "SearchCustomersRequest", body, status, code)


def _team(body: Callable[[Ids], Any], status: int = 200, code: str | None = None) -> Call:
    return _post("/v2/team-members/search", "SearchTeamMembersRequest", body, status, code)


def _batch(body: Callable[[Ids], Any], status: int = 200, code: str | None = None) -> Call:
    return _post("/v2/orders/batch-retrieve", "BatchRetrieveOrdersRequest", body, status, code)


BATTERY: dict[str, Call] = {
    "payments default": _get("/v2/payments", lambda ids: {}),
    "payments as the extractor asks": _get(
        "/v2/payments", lambda ids: {**_extractor_window(ids), "location_id": ids["locations"][1]}
    ),
    "payments created asc small pages": _get(
        "/v2/payments", lambda ids: {"sort_field": "CREATED_AT", "sort_order": "ASC", "limit": 5}
    ),
    "payments offline sort": _get("/v2/payments", lambda ids: {"sort_field": "OFFLINE_CREATED_AT", "limit": 3}),
    "payments card filters": _get(
        "/v2/payments", lambda ids: {"card_brand": "VISA", "limit": 10, "location_id": ids["locations"][2]}
    ),
    "payments nothing offline": _get("/v2/payments", lambda ids: {"is_offline_payment": "true"}),
    "payments limit above 100 is capped": _get("/v2/payments", lambda ids: {"limit": 500}),
    "payments limit zero": _get("/v2/payments", lambda ids: {"limit": 0}, 400, "VALUE_TOO_LOW"),
    "payments limit not a number": _get("/v2/payments", lambda ids: {"limit": "ten"}, 400, "EXPECTED_INTEGER"),
    "payments unknown parameter": _get(
        "/v2/payments", lambda ids: {"status": "COMPLETED"}, 400, "UNKNOWN_QUERY_PARAMETER"
    ),
    "payments foreign location": _get(
        "/v2/payments", lambda ids: {"location_id": "L0CAT10NX0000"}, 400, "INVALID_VALUE"
    ),
    "payments bad time": _get("/v2/payments", lambda ids: {"begin_time": "yesterday"}, 400, "INVALID_TIME"),
    "payments inverted range": _get(
        "/v2/payments",
        lambda ids: {"begin_time": "2025-02-02T00:00:00Z", "end_time": "2025-02-01T00:00:00Z"},
        400,
        "INVALID_TIME_RANGE",
    ),
    "payments bad sort field": _get("/v2/payments", lambda ids: {"sort_field": "AMOUNT"}, 400, "INVALID_ENUM_VALUE"),
    "payments bad sort order": _get("/v2/payments", lambda ids: {"sort_order": "UP"}, 400, "INVALID_SORT_ORDER"),
    "payments bad cursor": _get("/v2/payments", lambda ids: {"cursor": "abc.def"}, 400, "INVALID_CURSOR"),
    "refunds default": _get("/v2/refunds", lambda ids: {}),
    "refunds as the extractor asks": _get("/v2/refunds", _extractor_window),
    "refunds cash at one location": _get(
        "/v2/refunds", lambda ids: {"source_type": "CASH", "status": "COMPLETED", "location_id": ids["locations"][0]}
    ),
    "refunds none pending": _get("/v2/refunds", lambda ids: {"status": "PENDING"}),
    "refunds offline sort is not for refunds": _get(
        "/v2/refunds", lambda ids: {"sort_field": "OFFLINE_CREATED_AT"}, 400, "INVALID_ENUM_VALUE"
    ),
    "refunds card filter is not for refunds": _get(
        "/v2/refunds", lambda ids: {"card_brand": "VISA"}, 400, "UNKNOWN_QUERY_PARAMETER"
    ),
    "customers list": _get("/v2/customers", lambda ids: {"limit": 20, "sort_field": "CREATED_AT", "count": "true"}),
    "customers list limit 101": _get("/v2/customers", lambda ids: {"limit": 101}, 400, "VALUE_TOO_HIGH"),
    "customers list bad sort": _get("/v2/customers", lambda ids: {"sort_field": "EMAIL"}, 400, "INVALID_ENUM_VALUE"),
    "customers search as the extractor asks": _customers(
        lambda ids: {
            "limit": 100,
            "query": {
                "filter": {"updated_at": {"start_at": "2025-02-01T00:00:00.000Z", "end_at": "2025-03-02T00:00:00Z"}}
            },
        }
    ),
    "customers search sorted by creation": _customers(
        lambda ids: {
            "limit": 10,
            "count": True,
            "query": {
                "filter": {"created_at": {"start_at": "2024-06-01T00:00:00-07:00"}},
                "sort": {"field": "CREATED_AT", "order": "DESC"},
            },
        }
    ),
    "customers search nothing": _customers(
        lambda ids: {"query": {"filter": {"created_at": {"end_at": "2001-01-01T00:00:00Z"}}}}
    ),
    "customers search limit 0": _customers(lambda ids: {"limit": 0}, 400, "VALUE_TOO_LOW"),
    "customers search limit 101": _customers(lambda ids: {"limit": 101}, 400, "VALUE_TOO_HIGH"),
    "customers search email filter": _customers(
        lambda ids: {"query": {"filter": {"email_address": {"fuzzy": "example"}}}}, 400, "BAD_REQUEST"
    ),
    "customers search unknown field": _customers(lambda ids: {"page_size": 5}, 400, "UNKNOWN_BODY_PARAMETER"),
    "customers search bad sort": _customers(
        lambda ids: {"query": {"sort": {"field": "UPDATED_AT"}}}, 400, "INVALID_ENUM_VALUE"
    ),
    "customers search inverted range": _customers(
        lambda ids: {
            "query": {"filter": {"updated_at": {"start_at": "2025-02-02T00:00:00Z", "end_at": "2025-02-01T00:00:00Z"}}}
        },
        400,
        "INVALID_TIME_RANGE",
    ),
    "team members as the extractor asks": _team(lambda ids: {"limit": 200}),
    "team members default": _team(lambda ids: {}),
    "team members filtered": _team(
        lambda ids: {"query": {"filter": {"location_ids": ids["locations"][:1], "status": "ACTIVE"}}, "limit": 3}
    ),
    "team members owner": _team(lambda ids: {"query": {"filter": {"is_owner": True}}}),
    "team members limit 201": _team(lambda ids: {"limit": 201}, 400, "VALUE_TOO_HIGH"),
    "team members bad status": _team(lambda ids: {"query": {"filter": {"status": "GONE"}}}, 400, "INVALID_ENUM_VALUE"),
    "orders batch retrieve": _batch(lambda ids: {"order_ids": [*ids["orders"][:5], "NoSuchOrder"]}),
    "orders batch retrieve at one location": _batch(
        lambda ids: {"location_id": ids["locations"][0], "order_ids": ids["orders"][:20]}
    ),
    "orders batch retrieve nothing found": _batch(lambda ids: {"order_ids": ["NoSuchOrder"]}),
    "orders batch retrieve 101": _batch(
        lambda ids: {"order_ids": [f"O{i}" for i in range(101)]}, 400, "ARRAY_LENGTH_TOO_LONG"
    ),
    "orders batch retrieve without ids": _batch(lambda ids: {}, 400, "MISSING_REQUIRED_PARAMETER"),
    "orders batch retrieve foreign location": _batch(
        lambda ids: {"location_id": "L0CAT10NX0000", "order_ids": ids["orders"][:1]}, 400, "INVALID_VALUE"
    ),
    "order retrieve": Call("GET", "/v2/orders/{order}"),
    "order retrieve a return": Call("GET", "/v2/orders/{return}"),
    "order retrieve unknown": Call("GET", "/v2/orders/NoSuchOrder", status=404, code="NOT_FOUND"),
    "catalog list default": _get("/v2/catalog/list", lambda ids: {}),
    "catalog list types": _get("/v2/catalog/list", lambda ids: {"types": "item_variation, TAX,discount"}),
    "catalog list bad type": _get("/v2/catalog/list", lambda ids: {"types": "WIDGET"}, 400, "INVALID_ENUM_VALUE"),
    "catalog list bad cursor": _get("/v2/catalog/list", lambda ids: {"cursor": "nope"}, 400, "INVALID_CURSOR"),
    "orders search by customer": _post(
        "/v2/orders/search",
        "SearchOrdersRequest",
        lambda ids: {
            "location_ids": ids["locations"],
            "query": {
                "filter": {
                    "customer_filter": {"customer_ids": ids["customers"][:3]},
                    "state_filter": {"states": ["COMPLETED"]},
                }
            },
        },
    ),
    "orders search 11 customers": _post(
        "/v2/orders/search",
        "SearchOrdersRequest",
        lambda ids: {
            "location_ids": ids["locations"],
            "query": {"filter": {"customer_filter": {"customer_ids": [f"C{i}" for i in range(11)]}}},
        },
        400,
        "ARRAY_LENGTH_TOO_LONG",
    ),
}

RESPONSE_SCHEMAS = {
    "/v2/payments": "ListPaymentsResponse",
    "/v2/refunds": "ListPaymentRefundsResponse",
    "/v2/customers": "ListCustomersResponse",
    "/v2/customers/search": "SearchCustomersResponse",
    "/v2/team-members/search": "SearchTeamMembersResponse",
    "/v2/orders/batch-retrieve": "BatchRetrieveOrdersResponse",
    "/v2/catalog/list": "ListCatalogResponse",
    "/v2/orders/search": "SearchOrdersResponse",
}


@pytest.fixture(scope="module")
def ids(demo_data: DemoData) -> Ids:
    regulars = sorted({o["customer_id"] for o in demo_data.orders if "customer_id" in o})
    return {
        "locations": [loc["id"] for loc in demo_data.locations],
        "orders": [o["id"] for o in demo_data.orders],
        "order": demo_data.orders[0]["id"],
        "return": next(o["id"] for o in demo_data.orders if o.get("returns")),
        "customers": regulars,
    }


@pytest.mark.parametrize("name", list(BATTERY))
def test_every_new_endpoint_answers_in_squares_schema(
    name: str, demo_server: Any, ids: Ids, square_schemas: SquareSchemas
) -> None:
    call = BATTERY[name]
    body = None if call.body is None else call.body(ids)
    if call.request_schema is not None:
        square_schemas.check_request(call.request_schema, body)
    path = call.path.format(order=ids["order"], **{"return": ids["return"]})
    response = httpx.request(
        call.method,
        demo_server.base_url + path,
        params=None if call.params is None else call.params(ids),
        content=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == call.status, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    if call.status != 200:
        errors = square_schemas.check_errors(payload)
        assert errors[0]["code"] == call.code
        assert errors[0]["category"] == "INVALID_REQUEST_ERROR"
        return
    schema = "RetrieveOrderResponse" if path.startswith("/v2/orders/") and call.method == "GET" else None
    square_schemas.check(schema or RESPONSE_SCHEMAS[call.path], payload)
    assert "errors" not in payload


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/payments"),
        ("GET", "/v2/refunds"),
        ("GET", "/v2/customers"),
        ("POST", "/v2/customers/search"),
        ("POST", "/v2/team-members/search"),
        ("POST", "/v2/orders/batch-retrieve"),
        ("GET", "/v2/orders/anything"),
        ("GET", "/v2/catalog/list"),
    ],
)
def test_every_new_endpoint_wants_the_token(method: str, path: str, demo_server: Any) -> None:
    response = httpx.request(method, demo_server.base_url + path, json={} if method == "POST" else None, timeout=10)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_the_order_lookups_are_counted_in_the_stats(http: httpx.Client, demo_data: DemoData) -> None:
    before = http.get("/__demo/stats").json()["endpoints"].get("GET /v2/orders/{order_id}", {"requests": 0})
    http.get(f"/v2/orders/{demo_data.orders[1]['id']}")
    assert http.get("/v2/orders/search").status_code == 405
    after = http.get("/__demo/stats").json()["endpoints"]["GET /v2/orders/{order_id}"]
    assert after["requests"] == before["requests"] + 1
