"""Conformance: every response of the running demo merchant validates against Square's own
OpenAPI schemas (and declares no field Square does not have), and every request body we send
validates against Square's request schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from jsonschema.exceptions import ValidationError
from square_demo_support import TOKEN, SquareSchemas

from square_bi.square.demo import DemoData

Body = dict[str, Any] | bytes | None


@dataclass(frozen=True)
class Call:
    """One request of the battery and what Square would answer."""

    method: str
    path: str
    body: Callable[[list[str]], Body] = lambda ids: None
    status: int = 200
    code: str | None = None  # expected error code when status != 200
    request_schema: str | None = None  # validate the body we send (only for schema-valid bodies)
    headers: dict[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {TOKEN}"})


def _orders(body: Callable[[list[str]], Body], status: int = 200, code: str | None = None, valid: bool = True) -> Call:
    return Call("POST", "/v2/orders/search", body, status, code, "SearchOrdersRequest" if valid else None)


def _catalog(body: Callable[[list[str]], Body], status: int = 200, code: str | None = None, valid: bool = True) -> Call:
    return Call("POST", "/v2/catalog/search", body, status, code, "SearchCatalogObjectsRequest" if valid else None)


def _range(field: str, start: str | None = None, end: str | None = None, sort: str | None = None) -> dict[str, Any]:
    time_range = {k: v for k, v in (("start_at", start), ("end_at", end)) if v is not None}
    query: dict[str, Any] = {"filter": {"date_time_filter": {field: time_range}}}
    if sort is not None:
        query["sort"] = {"sort_field": sort, "sort_order": "ASC"}
    return query


BATTERY: dict[str, Call] = {
    "locations": Call("GET", "/v2/locations"),
    "locations without token": Call("GET", "/v2/locations", status=401, code="UNAUTHORIZED", headers={}),
    "locations with wrong token": Call(
        "GET", "/v2/locations", status=401, code="UNAUTHORIZED", headers={"Authorization": "Bearer nope"}
    ),
    "locations with basic auth": Call(
        "GET", "/v2/locations", status=401, code="UNAUTHORIZED", headers={"Authorization": "Basic ZGVtbw=="}
    ),
    "orders minimal": _orders(lambda ids: {"location_ids": ids}),
    "orders 1000 by created asc": _orders(
        lambda ids: {
            "location_ids": ids,
            "limit": 1000,
            "query": {"sort": {"sort_field": "CREATED_AT", "sort_order": "ASC"}},
        }
    ),
    "orders updated range completed": _orders(
        lambda ids: {
            "location_ids": ids,
            "limit": 50,
            "query": {
                "filter": {
                    "date_time_filter": {
                        "updated_at": {"start_at": "2025-02-20T00:00:00Z", "end_at": "2025-02-21T00:00:00Z"}
                    },
                    "state_filter": {"states": ["COMPLETED"]},
                },
                "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
            },
        }
    ),
    "orders closed desc open start": _orders(
        lambda ids: {
            "location_ids": ids[:1],
            "query": {**_range("closed_at", end="2025-02-25T12:00:00.000Z"), "sort": {"sort_field": "CLOSED_AT"}},
        }
    ),
    "orders created with offsets": _orders(
        lambda ids: {
            "location_ids": ids,
            "query": _range("created_at", "2025-02-20T00:00:00-08:00", "2025-02-20T23:59:59+01:00", "CREATED_AT"),
        }
    ),
    "orders as entries": _orders(lambda ids: {"location_ids": ids, "limit": 20, "return_entries": True}),
    "orders from square online": _orders(
        lambda ids: {"location_ids": ids, "query": {"filter": {"source_filter": {"source_names": ["Square Online"]}}}}
    ),
    "orders none in range": _orders(
        lambda ids: {
            "location_ids": ids,
            "query": _range("created_at", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", "CREATED_AT"),
        }
    ),
    "orders 11 locations": _orders(lambda ids: {"location_ids": (ids * 4)[:11]}, 400, "ARRAY_LENGTH_TOO_LONG"),
    "orders without locations": _orders(lambda ids: {"limit": 10}, 400, "MISSING_REQUIRED_PARAMETER"),
    "orders foreign location": _orders(lambda ids: {"location_ids": ["L0CAT10NX0000"]}, 400, "INVALID_VALUE"),
    "orders sort mismatch": _orders(
        lambda ids: {"location_ids": ids, "query": _range("updated_at", "2025-02-20T00:00:00Z", sort="CREATED_AT")},
        400,
        "BAD_REQUEST",
    ),
    "orders filter without sort": _orders(
        lambda ids: {"location_ids": ids, "query": _range("closed_at", "2025-02-20T00:00:00Z")}, 400, "BAD_REQUEST"
    ),
    "orders closed sort with open state": _orders(
        lambda ids: {
            "location_ids": ids,
            "query": {"filter": {"state_filter": {"states": ["OPEN"]}}, "sort": {"sort_field": "CLOSED_AT"}},
        },
        400,
        "BAD_REQUEST",
    ),
    "orders bad cursor": _orders(lambda ids: {"location_ids": ids, "cursor": "not-a-cursor"}, 400, "INVALID_CURSOR"),
    "orders limit too high": _orders(lambda ids: {"location_ids": ids, "limit": 1001}, 400, "VALUE_TOO_HIGH"),
    "orders limit as string": _orders(
        lambda ids: {"location_ids": ids, "limit": "10"}, 400, "EXPECTED_INTEGER", valid=False
    ),
    "orders bad state": _orders(
        lambda ids: {"location_ids": ids, "query": {"filter": {"state_filter": {"states": ["DONE"]}}}},
        400,
        "INVALID_ENUM_VALUE",
        valid=False,
    ),
    "orders bad timestamp": _orders(
        lambda ids: {"location_ids": ids, "query": _range("created_at", "yesterday", sort="CREATED_AT")},
        400,
        "INVALID_TIME",
    ),
    "orders two time ranges": _orders(
        lambda ids: {
            "location_ids": ids,
            "query": {
                "filter": {
                    "date_time_filter": {
                        "created_at": {"start_at": "2025-02-20T00:00:00Z"},
                        "updated_at": {"start_at": "2025-02-20T00:00:00Z"},
                    }
                },
                "sort": {"sort_field": "CREATED_AT"},
            },
        },
        400,
        "BAD_REQUEST",
    ),
    "orders inverted range": _orders(
        lambda ids: {
            "location_ids": ids,
            "query": _range("created_at", "2025-02-21T00:00:00Z", "2025-02-20T00:00:00Z", "CREATED_AT"),
        },
        400,
        "INVALID_TIME_RANGE",
    ),
    "orders malformed json": _orders(lambda ids: b'{"location_ids": [', 400, "EXPECTED_JSON_BODY", valid=False),
    "orders array body": _orders(lambda ids: b"[]", 400, "EXPECTED_OBJECT", valid=False),
    "orders unknown field": _orders(
        lambda ids: {"location_ids": ids, "sort": "ASC"}, 400, "UNKNOWN_BODY_PARAMETER", valid=False
    ),
    "orders customer filter": _orders(
        lambda ids: {"location_ids": ids, "query": {"filter": {"customer_filter": {"customer_ids": ["C1"]}}}},
    ),
    "orders fulfillment filter": _orders(
        lambda ids: {
            "location_ids": ids,
            "query": {"filter": {"fulfillment_filter": {"fulfillment_types": ["PICKUP"]}}},
        },
        400,
        "BAD_REQUEST",
    ),
    "orders without token": Call(
        "POST", "/v2/orders/search", lambda ids: {"location_ids": ids}, 401, "UNAUTHORIZED", headers={}
    ),
    "catalog default": _catalog(lambda ids: {}),
    "catalog items variations categories": _catalog(
        lambda ids: {
            "object_types": ["ITEM", "ITEM_VARIATION", "CATEGORY"],
            "include_deleted_objects": True,
            "include_related_objects": True,
            "limit": 10,
        }
    ),
    "catalog since begin time": _catalog(lambda ids: {"object_types": ["ITEM"], "begin_time": "2025-02-10T00:00:00Z"}),
    "catalog nothing newer": _catalog(lambda ids: {"begin_time": "2030-01-01T00:00:00Z"}),
    "catalog bad type": _catalog(lambda ids: {"object_types": ["WIDGET"]}, 400, "INVALID_ENUM_VALUE", valid=False),
    "catalog text query": _catalog(lambda ids: {"query": {"text_query": {"keywords": ["latte"]}}}, 400, "BAD_REQUEST"),
    "catalog bad cursor": _catalog(lambda ids: {"cursor": "abc.def"}, 400, "INVALID_CURSOR"),
    "catalog wrong token": Call(
        "POST", "/v2/catalog/search", lambda ids: {}, 401, "UNAUTHORIZED", headers={"Authorization": "Bearer x"}
    ),
    "unknown path": Call("GET", "/v2/invoices", status=404, code="NOT_FOUND"),
    "unknown path without token": Call("POST", "/v3/anything", status=404, code="NOT_FOUND", headers={}),
    "wrong method": Call("GET", "/v2/orders/search", status=405, code="METHOD_NOT_ALLOWED"),
}

RESPONSE_SCHEMAS = {
    "/v2/locations": "ListLocationsResponse",
    "/v2/orders/search": "SearchOrdersResponse",
    "/v2/catalog/search": "SearchCatalogObjectsResponse",
}


@pytest.mark.parametrize("name", list(BATTERY))
def test_every_response_matches_squares_schema(
    name: str, demo_server: Any, location_ids: list[str], square_schemas: SquareSchemas
) -> None:
    call = BATTERY[name]
    body = call.body(location_ids)
    if call.request_schema is not None:
        square_schemas.check_request(call.request_schema, body)
    content = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    headers = {**call.headers, "Content-Type": "application/json"}
    response = httpx.request(
        call.method, demo_server.base_url + call.path, content=content, headers=headers, timeout=10
    )

    assert response.status_code == call.status, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    if call.status == 200:
        square_schemas.check(RESPONSE_SCHEMAS[call.path], payload)
        assert "errors" not in payload
    else:
        errors = square_schemas.check_errors(payload)
        assert errors[0]["code"] == call.code
        expected_category = "AUTHENTICATION_ERROR" if call.status == 401 else "INVALID_REQUEST_ERROR"
        assert errors[0]["category"] == expected_category
        assert TOKEN not in response.text


def test_an_empty_order_search_is_an_empty_object(http: httpx.Client, location_ids: list[str]) -> None:
    query = _range("created_at", "2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z", sort="CREATED_AT")
    body = {"location_ids": location_ids, "query": query}
    response = http.post("/v2/orders/search", json=body)
    assert response.status_code == 200
    assert response.json() == {}


def test_every_page_of_a_full_order_export_matches_squares_schema(
    http: httpx.Client, location_ids: list[str], demo_data: DemoData, square_schemas: SquareSchemas
) -> None:
    body: dict[str, Any] = {
        "location_ids": location_ids,
        "limit": 1000,
        "query": {"sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}},
    }
    seen = 0
    for _ in range(20):
        square_schemas.check_request("SearchOrdersRequest", body)
        page = http.post("/v2/orders/search", json=body).json()
        square_schemas.check("SearchOrdersResponse", page)
        seen += len(page.get("orders", []))
        if "cursor" not in page:
            break
        body["cursor"] = page["cursor"]
    assert seen == len(demo_data.orders)


def test_every_page_of_the_catalog_matches_squares_schema(http: httpx.Client, square_schemas: SquareSchemas) -> None:
    body: dict[str, Any] = {
        "object_types": ["ITEM", "ITEM_VARIATION", "CATEGORY"],
        "include_deleted_objects": True,
        "include_related_objects": True,
        "limit": 7,
    }
    pages = 0
    for _ in range(50):
        square_schemas.check_request("SearchCatalogObjectsRequest", body)
        page = http.post("/v2/catalog/search", json=body).json()
        square_schemas.check("SearchCatalogObjectsResponse", page)
        pages += 1
        if "cursor" not in page:
            break
        body["cursor"] = page["cursor"]
    assert pages > 5


def test_schema_check_rejects_wrong_types_and_undeclared_fields(
    demo_data: DemoData, square_schemas: SquareSchemas
) -> None:
    order = json.loads(json.dumps(demo_data.orders[0]))
    order["line_items"][0]["quantity"] = 2  # Square sends a decimal string
    with pytest.raises(ValidationError):
        square_schemas.check("SearchOrdersResponse", {"orders": [order]})
    order = json.loads(json.dumps(demo_data.orders[0]))
    order["line_items"][0]["variation_total_money"] = order["line_items"][0]["total_money"]
    with pytest.raises(AssertionError, match="variation_total_money"):
        square_schemas.check("SearchOrdersResponse", {"orders": [order]})
