"""Paging ``orders/search`` and ``catalog/search`` by hand with ``cursor``: every match exactly
once, in order, with the open end of a time range pinned at the first request."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from square_demo_support import TOKEN, parse_time

from square_bi.square.demo import DemoData, DemoServer

SORT_ATTRIBUTE = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "CLOSED_AT": "closed_at"}


def _page_through(http: httpx.Client, path: str, body: dict[str, Any], key: str, max_pages: int = 500) -> list[Any]:
    """Follow cursors until the last page; fails instead of looping forever."""
    results: list[Any] = []
    body = dict(body)
    for _ in range(max_pages):
        response = http.post(path, json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        results.extend(page.get(key, []))
        if "cursor" not in page:
            return results
        assert page.get(key), "a page with a cursor should not be empty"
        body["cursor"] = page["cursor"]
    raise AssertionError(f"more than {max_pages} pages")


def _expected(
    data: DemoData,
    *,
    locations: set[str],
    attribute: str,
    start: datetime | None = None,
    end: datetime | None = None,
    source: str | None = None,
    states: tuple[str, ...] | None = None,
) -> set[str]:
    """The matching order ids, computed straight from the generated data."""
    return {
        order["id"]
        for order in data.orders
        if order["location_id"] in locations
        and (states is None or order["state"] in states)
        and attribute in order
        and (start is None or parse_time(order[attribute]) >= start)
        and (end is None or parse_time(order[attribute]) <= end)
        and (source is None or order["source"]["name"] == source)
    }


@pytest.mark.parametrize(
    ("limit", "sort_field", "sort_order", "days"),
    [
        (7, "UPDATED_AT", "ASC", 1),
        (50, "CREATED_AT", "DESC", 3),
        (333, "CLOSED_AT", "ASC", 10),
        (1000, "UPDATED_AT", "DESC", 30),
    ],
)
def test_search_orders_pages_return_every_order_exactly_once(
    http: httpx.Client, demo_data: DemoData, limit: int, sort_field: str, sort_order: str, days: int
) -> None:
    attribute = SORT_ATTRIBUTE[sort_field]
    end = demo_data.anchor - timedelta(days=2, hours=5, microseconds=123)
    start = end - timedelta(days=days)
    locations = {loc["id"] for loc in demo_data.locations[:2]}
    body = {
        "location_ids": sorted(locations),
        "limit": limit,
        "query": {
            "filter": {
                "date_time_filter": {attribute: {"start_at": start.isoformat(), "end_at": end.isoformat()}},
                "state_filter": {"states": ["COMPLETED"]},
            },
            "sort": {"sort_field": sort_field, "sort_order": sort_order},
        },
    }
    orders = _page_through(http, "/v2/orders/search", body, "orders")

    ids = [order["id"] for order in orders]
    assert len(ids) == len(set(ids)), "an order came back twice"
    expected = _expected(
        demo_data, locations=locations, attribute=attribute, start=start, end=end, states=("COMPLETED",)
    )
    assert set(ids) == expected
    stamps = [parse_time(order[attribute]) for order in orders]
    assert stamps == sorted(stamps, reverse=sort_order == "DESC")
    assert len(ids) > limit or limit == 1000  # really paged


def test_both_ends_of_a_time_range_are_inclusive(http: httpx.Client, demo_data: DemoData) -> None:
    ids = [loc["id"] for loc in demo_data.locations]
    order = demo_data.orders[len(demo_data.orders) // 2]
    exact = {"start_at": order["created_at"], "end_at": order["created_at"]}
    body = {
        "location_ids": ids,
        "query": {"filter": {"date_time_filter": {"created_at": exact}}, "sort": {"sort_field": "CREATED_AT"}},
    }
    found = http.post("/v2/orders/search", json=body).json()["orders"]
    assert order["id"] in {o["id"] for o in found}


def test_default_search_is_newest_created_first_500_per_page(http: httpx.Client, demo_data: DemoData) -> None:
    ids = [loc["id"] for loc in demo_data.locations]
    page = http.post("/v2/orders/search", json={"location_ids": ids}).json()
    assert len(page["orders"]) == 500 and "cursor" in page
    newest = sorted(demo_data.orders, key=lambda o: parse_time(o["created_at"]), reverse=True)[:500]
    assert [o["created_at"] for o in page["orders"]] == [o["created_at"] for o in newest]


def test_source_filter_and_return_entries(http: httpx.Client, demo_data: DemoData) -> None:
    locations = {loc["id"] for loc in demo_data.locations}
    body = {
        "location_ids": sorted(locations),
        "limit": 100,
        "return_entries": True,
        "query": {"filter": {"source_filter": {"source_names": ["Square Online"]}}},
    }
    entries = _page_through(http, "/v2/orders/search", body, "order_entries")
    expected = _expected(demo_data, locations=locations, attribute="created_at", source="Square Online")
    assert {entry["order_id"] for entry in entries} == expected
    by_id = {order["id"]: order for order in demo_data.orders}
    for entry in entries:
        assert set(entry) == {"order_id", "version", "location_id"}
        assert entry["version"] == by_id[entry["order_id"]]["version"]


def test_a_cursor_only_works_with_its_original_query(http: httpx.Client, demo_data: DemoData) -> None:
    ids = [loc["id"] for loc in demo_data.locations]
    body: dict[str, Any] = {
        "location_ids": ids,
        "limit": 10,
        "query": {"sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}},
    }
    cursor = http.post("/v2/orders/search", json=body).json()["cursor"]

    same = http.post("/v2/orders/search", json={**body, "cursor": cursor, "limit": 25})
    assert same.status_code == 200  # the page size may change between pages

    for changed in (
        {**body, "location_ids": ids[:1]},
        {**body, "query": {"sort": {"sort_field": "UPDATED_AT", "sort_order": "DESC"}}},
        {"location_ids": ids},
    ):
        response = http.post("/v2/orders/search", json={**changed, "cursor": cursor})
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "INVALID_CURSOR"

    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    response = http.post("/v2/orders/search", json={**body, "cursor": tampered})
    assert response.json()["errors"][0]["code"] == "INVALID_CURSOR"
    catalog = http.post("/v2/catalog/search", json={"cursor": cursor})
    assert catalog.json()["errors"][0]["code"] == "INVALID_CURSOR"


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_an_open_end_is_pinned_at_the_first_request_of_the_cursor_chain(demo_data: DemoData) -> None:
    first_request_at = demo_data.anchor - timedelta(days=5)
    clock = _Clock(first_request_at)
    ids = [loc["id"] for loc in demo_data.locations]
    start = demo_data.anchor - timedelta(days=8)
    body: dict[str, Any] = {
        "location_ids": ids,
        "limit": 200,
        "query": {
            "filter": {"date_time_filter": {"updated_at": {"start_at": start.isoformat()}}},
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        },
    }
    with (
        DemoServer(demo_data, access_token=TOKEN, clock=clock) as server,
        httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        page = http.post("/v2/orders/search", json=body).json()
        seen = [order["id"] for order in page["orders"]]
        clock.now = demo_data.anchor + timedelta(days=1)  # time passes while paging
        body["cursor"] = page["cursor"]
        seen += [order["id"] for order in _page_through(http, "/v2/orders/search", body, "orders")]
        fresh = _page_through(http, "/v2/orders/search", {**body, "cursor": None}, "orders")

    locations = set(ids)
    assert set(seen) == _expected(
        demo_data, locations=locations, attribute="updated_at", start=start, end=first_request_at
    )
    assert {order["id"] for order in fresh} == _expected(
        demo_data, locations=locations, attribute="updated_at", start=start
    )
    assert len(fresh) > len(seen)


def test_catalog_pages_return_every_object_once(http: httpx.Client, demo_data: DemoData) -> None:
    body = {"object_types": ["ITEM", "ITEM_VARIATION", "CATEGORY"], "include_deleted_objects": True, "limit": 9}
    objects = _page_through(http, "/v2/catalog/search", body, "objects")
    assert [o["id"] for o in objects] == [o["id"] for o in sorted(objects, key=lambda o: parse_time(o["updated_at"]))]
    assert sorted(o["id"] for o in objects) == sorted(
        o["id"] for o in demo_data.catalog_objects if o["type"] in body["object_types"]
    )


def test_catalog_hides_deleted_objects_and_nested_types_unless_asked(http: httpx.Client, demo_data: DemoData) -> None:
    default = _page_through(http, "/v2/catalog/search", {"limit": 1000}, "objects")
    assert {o["type"] for o in default} == {"ITEM", "CATEGORY", "TAX", "DISCOUNT", "MODIFIER_LIST"}
    assert not any(o["is_deleted"] for o in default)
    with_deleted = _page_through(http, "/v2/catalog/search", {"include_deleted_objects": True}, "objects")
    deleted = [o for o in with_deleted if o["is_deleted"]]
    assert [o["type"] for o in deleted] == ["ITEM"]


def test_catalog_begin_time_is_exclusive_and_latest_time_is_the_newest_change(
    http: httpx.Client, demo_data: DemoData
) -> None:
    newest = max(demo_data.catalog_objects, key=lambda o: parse_time(o["updated_at"]))
    everything = {"object_types": ["ITEM", "ITEM_VARIATION", "CATEGORY"]}
    at = http.post("/v2/catalog/search", json={**everything, "begin_time": newest["updated_at"]}).json()
    assert "objects" not in at
    assert parse_time(at["latest_time"]) == parse_time(newest["updated_at"])
    just_before = (parse_time(newest["updated_at"]) - timedelta(milliseconds=1)).isoformat()
    before = http.post("/v2/catalog/search", json={**everything, "begin_time": just_before}).json()
    assert [o["id"] for o in before["objects"]] == [newest["id"]]


def test_catalog_related_objects_are_the_categories_and_parent_items(http: httpx.Client, demo_data: DemoData) -> None:
    page = http.post(
        "/v2/catalog/search",
        json={"object_types": ["ITEM_VARIATION"], "include_related_objects": True, "limit": 5},
    ).json()
    parents = {o["item_variation_data"]["item_id"] for o in page["objects"]}
    assert {o["id"] for o in page["related_objects"]} == parents
