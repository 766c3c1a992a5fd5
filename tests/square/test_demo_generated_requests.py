"""Hypothesis-generated valid requests: every answer validates against Square's spec and holds
exactly what the request asked for (checked independently of the demo's own search code)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from square_demo_support import ANCHOR, TOKEN, SquareSchemas, parse_time

from square_bi.square.demo import DemoData, DemoServer

FIELDS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "CLOSED_AT": "closed_at"}
STATES = ["OPEN", "COMPLETED", "CANCELED"]
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Square-Version": "2025-08-20"}
PROFILE = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _stamp(days_before_anchor: float) -> str:
    return (ANCHOR - timedelta(days=days_before_anchor)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@st.composite
def search_orders_requests(draw: st.DrawFn, location_ids: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location_ids": draw(st.lists(st.sampled_from(location_ids), min_size=1, max_size=3, unique=True))
    }
    if draw(st.booleans()):
        body["limit"] = draw(st.integers(min_value=20, max_value=1000))
    sort_field = draw(st.sampled_from(list(FIELDS)))
    query: dict[str, Any] = {"sort": {"sort_field": sort_field, "sort_order": draw(st.sampled_from(["ASC", "DESC"]))}}
    filter_: dict[str, Any] = {}
    if draw(st.booleans()):
        start, length = draw(st.floats(0, 25)), draw(st.floats(0.01, 10))
        filter_["date_time_filter"] = {
            FIELDS[sort_field]: {"start_at": _stamp(start), "end_at": _stamp(start - length)}
        }
    states = STATES if sort_field != "CLOSED_AT" else ["COMPLETED", "CANCELED"]  # Square's rule
    if sort_field == "CLOSED_AT" or draw(st.booleans()):
        filter_["state_filter"] = {"states": draw(st.lists(st.sampled_from(states), min_size=1, unique=True))}
    query["filter"] = filter_
    body["query"] = query
    return body


def _matches(order: dict[str, Any], body: dict[str, Any]) -> bool:
    query = body["query"]
    if order["location_id"] not in body["location_ids"]:
        return False
    filter_ = query.get("filter", {})
    states = filter_.get("state_filter", {}).get("states")
    if states and order["state"] not in states:
        return False
    for field, window in filter_.get("date_time_filter", {}).items():
        if field not in order:
            return False
        at = parse_time(order[field])
        if not parse_time(window["start_at"]) <= at <= parse_time(window["end_at"]):
            return False
    return True


def test_generated_order_searches_page_through_exactly_the_matching_orders_in_order(
    demo_server: DemoServer, demo_data: DemoData, square_schemas: SquareSchemas, location_ids: list[str]
) -> None:
    with httpx.Client(base_url=demo_server.base_url, headers=HEADERS, timeout=30) as http:

        @PROFILE
        @given(body=search_orders_requests(location_ids))
        def check(body: dict[str, Any]) -> None:
            square_schemas.check_request("SearchOrdersRequest", body)
            seen: list[dict[str, Any]] = []
            cursor = None
            for _ in range(200):  # bounded
                page = http.post("/v2/orders/search", json={**body, **({"cursor": cursor} if cursor else {})})
                assert page.status_code == 200, page.text
                payload = page.json()
                if not seen:  # the schema check is slow: the first page of each example is enough
                    square_schemas.check("SearchOrdersResponse", payload)
                seen += payload.get("orders", [])
                cursor = payload.get("cursor")
                if not cursor:
                    break
            expected = {o["id"] for o in demo_data.orders if _matches(o, body)}
            assert [o["id"] for o in seen if o["id"] in expected] == [o["id"] for o in seen]
            assert sorted(o["id"] for o in seen) == sorted(expected)
            field = FIELDS[body["query"]["sort"]["sort_field"]]
            keys = [parse_time(o[field]) for o in seen if field in o]
            descending = body["query"]["sort"]["sort_order"] == "DESC"
            assert keys == sorted(keys, reverse=descending)

        check()


@st.composite
def list_payments_params(draw: st.DrawFn, location_ids: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {"location_id": draw(st.sampled_from(location_ids))}
    if draw(st.booleans()):
        params["limit"] = draw(st.integers(min_value=10, max_value=100))
    params["sort_order"] = draw(st.sampled_from(["ASC", "DESC"]))
    params["sort_field"] = draw(st.sampled_from(["CREATED_AT", "UPDATED_AT"]))
    start = draw(st.floats(1, 25))
    params["begin_time"] = _stamp(start)
    params["end_time"] = _stamp(start - draw(st.floats(0.1, 3)))
    return params


def test_generated_payment_listings_are_valid_and_complete(
    demo_server: DemoServer, demo_data: DemoData, square_schemas: SquareSchemas, location_ids: list[str]
) -> None:
    with httpx.Client(base_url=demo_server.base_url, headers=HEADERS, timeout=30) as http:

        @PROFILE
        @given(params=list_payments_params(location_ids))
        def check(params: dict[str, Any]) -> None:
            seen: list[str] = []
            cursor = None
            for _ in range(200):
                page = http.get("/v2/payments", params={**params, **({"cursor": cursor} if cursor else {})})
                assert page.status_code == 200, page.text
                payload = page.json()
                square_schemas.check("ListPaymentsResponse", payload)
                seen += [p["id"] for p in payload.get("payments", [])]
                cursor = payload.get("cursor")
                if not cursor:
                    break
            begin, end = parse_time(params["begin_time"]), parse_time(params["end_time"])
            expected = {
                p["id"]
                for p in demo_data.payments
                if p["location_id"] == params["location_id"] and begin <= parse_time(p["created_at"]) < end
            }
            assert sorted(seen) == sorted(expected)

        check()
