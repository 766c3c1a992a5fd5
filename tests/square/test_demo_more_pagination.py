"""Paging payments, refunds, customers and team members by hand: every match exactly once, in
order, for several page sizes and filters; expectations recomputed from ``DemoData``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from square_demo_support import ANCHOR, TOKEN, parse_time

from square_bi.square.demo import DemoConfig, DemoData, DemoServer, generate
from square_bi.square.demo.faults import FaultConfig

JSONObject = dict[str, Any]


def _page_all(fetch: Callable[[str | None], httpx.Response], key: str, max_pages: int = 400) -> list[JSONObject]:
    found: list[JSONObject] = []
    cursor: str | None = None
    for _ in range(max_pages):
        response = fetch(cursor)
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page.get(key, []))
        cursor = page.get("cursor")
        if cursor is None:
            return found
    raise AssertionError(f"more than {max_pages} pages")


def _get_all(http: httpx.Client, path: str, params: dict[str, Any], key: str) -> list[JSONObject]:
    return _page_all(lambda cursor: http.get(path, params={**params, **({"cursor": cursor} if cursor else {})}), key)


def _post_all(http: httpx.Client, path: str, body: dict[str, Any], key: str) -> list[JSONObject]:
    return _page_all(lambda cursor: http.post(path, json={**body, **({"cursor": cursor} if cursor else {})}), key)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _expected(
    records: list[JSONObject],
    *,
    sort: str,
    descending: bool,
    location: str | None = None,
    created: tuple[datetime, datetime] | None = None,
    updated: tuple[datetime, datetime] | None = None,
    keep: Callable[[JSONObject], bool] = lambda record: True,
) -> list[str]:
    """Ids in the order Square lists them: half-open ranges, ties broken by id."""
    chosen = [
        r
        for r in records
        if (location is None or r["location_id"] == location)
        and (created is None or created[0] <= parse_time(r["created_at"]) < created[1])
        and (updated is None or updated[0] <= parse_time(r["updated_at"]) < updated[1])
        and keep(r)
    ]
    chosen.sort(key=lambda r: (parse_time(r[sort]), r["id"]), reverse=descending)
    return [r["id"] for r in chosen]


@pytest.mark.parametrize(
    ("limit", "sort_field", "sort_order", "location_index", "days"),
    [(7, "UPDATED_AT", "ASC", 1, 2), (100, "CREATED_AT", "DESC", 0, 6), (250, "CREATED_AT", "ASC", 2, 30)],
)
def test_listing_payments_returns_every_match_exactly_once_in_order(
    http: httpx.Client,
    demo_data: DemoData,
    limit: int,
    sort_field: str,
    sort_order: str,
    location_index: int,
    days: int,
) -> None:
    location = demo_data.locations[location_index]["id"]
    end = demo_data.anchor - timedelta(days=1, hours=3, milliseconds=17)
    start = end - timedelta(days=days)
    window = {"updated_at_begin_time": _iso(start), "updated_at_end_time": _iso(end)}
    if sort_field == "CREATED_AT":
        window = {"begin_time": _iso(start), "end_time": _iso(end)}
    params = {"location_id": location, "sort_field": sort_field, "sort_order": sort_order, "limit": limit, **window}
    ids = [p["id"] for p in _get_all(http, "/v2/payments", params, "payments")]
    field = "updated" if sort_field == "UPDATED_AT" else "created"
    expected = _expected(
        demo_data.payments,
        sort=f"{field}_at",
        descending=sort_order == "DESC",
        location=location,
        **{field: (start, end)},  # type: ignore[arg-type]
    )
    assert ids == expected
    assert len(ids) > min(limit, 100)  # really paged


def test_payments_without_a_location_are_the_main_locations_only(http: httpx.Client, demo_data: DemoData) -> None:
    start = demo_data.anchor - timedelta(days=3)
    listed = _get_all(http, "/v2/payments", {"begin_time": _iso(start), "sort_order": "ASC"}, "payments")
    assert {p["location_id"] for p in listed} == {demo_data.main_location_id}
    assert [p["id"] for p in listed] == _expected(
        demo_data.payments,
        sort="created_at",
        descending=False,
        location=demo_data.main_location_id,
        created=(start, demo_data.anchor + timedelta(days=365)),
    )


def test_payment_time_ranges_include_the_begin_and_exclude_the_end(http: httpx.Client, demo_data: DemoData) -> None:
    payment = demo_data.payments[len(demo_data.payments) // 2]
    at = parse_time(payment["created_at"])
    base = {"location_id": payment["location_id"]}
    exact = http.get("/v2/payments", params={**base, "begin_time": _iso(at), "end_time": _iso(at)}).json()
    assert payment["id"] not in {p["id"] for p in exact.get("payments", [])}
    after = _iso(at + timedelta(milliseconds=1))
    found = http.get("/v2/payments", params={**base, "begin_time": _iso(at), "end_time": after}).json()
    assert payment["id"] in {p["id"] for p in found["payments"]}


def test_the_extractors_requests_read_every_payment_and_refund_exactly_once(
    http: httpx.Client, demo_data: DemoData
) -> None:
    end = demo_data.anchor - timedelta(hours=7)
    start = end - timedelta(days=9)
    window = {
        "begin_time": "2009-01-01T00:00:00.000Z",
        "end_time": _iso(end),
        "updated_at_begin_time": _iso(start),
        "updated_at_end_time": _iso(end),
        "sort_field": "UPDATED_AT",
        "sort_order": "ASC",
        "limit": 100,
    }
    payments: list[str] = []
    for location in demo_data.locations:
        listed = _get_all(http, "/v2/payments", {**window, "location_id": location["id"]}, "payments")
        payments += [p["id"] for p in listed]
    expected = _expected(demo_data.payments, sort="updated_at", descending=False, updated=(start, end))
    assert sorted(payments) == sorted(expected) and len(payments) == len(set(payments))
    refunds = [r["id"] for r in _get_all(http, "/v2/refunds", window, "refunds")]
    assert refunds == _expected(demo_data.refunds, sort="updated_at", descending=False, updated=(start, end))
    assert len(refunds) > 5


@pytest.mark.parametrize(("limit", "params"), [(3, {"source_type": "CARD"}), (100, {}), (7, {"sort_order": "ASC"})])
def test_listing_refunds_covers_every_location_exactly_once(
    http: httpx.Client, demo_data: DemoData, limit: int, params: dict[str, str]
) -> None:
    listed = [r["id"] for r in _get_all(http, "/v2/refunds", {**params, "limit": limit}, "refunds")]
    expected = _expected(
        demo_data.refunds,
        sort="created_at",
        descending=params.get("sort_order", "DESC") == "DESC",
        keep=lambda r: params.get("source_type") in (None, r["destination_type"]),
    )
    assert listed == expected
    assert len({r["location_id"] for r in demo_data.refunds if r["id"] in set(listed)}) > 1


def test_payments_begin_time_defaults_to_a_year_before_now() -> None:
    data = generate(DemoConfig(seed=3, days=400, locations=2, orders_per_day=3, anchor=ANCHOR))
    year_ago = ANCHOR - timedelta(days=365)
    with (
        DemoServer(data, access_token=TOKEN) as server,
        httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        recent = _get_all(http, "/v2/payments", {}, "payments")
        everything = _get_all(http, "/v2/payments", {"begin_time": "2009-01-01T00:00:00Z"}, "payments")
    main = [p for p in data.payments if p["location_id"] == data.main_location_id]
    assert {p["id"] for p in everything} == {p["id"] for p in main}
    assert {p["id"] for p in recent} == {p["id"] for p in main if parse_time(p["created_at"]) >= year_ago}
    assert len(recent) < len(everything)


@pytest.mark.parametrize(
    ("limit", "query"),
    [
        (7, None),
        (4, {"filter": {"updated_at": {"start_at": "2025-02-20T00:00:00Z"}}}),
        (
            9,
            {
                "sort": {"field": "CREATED_AT", "order": "DESC"},
                "filter": {"created_at": {"end_at": "2024-12-31T00:00:00Z"}},
            },
        ),
    ],
)
def test_searching_customers_returns_every_match_exactly_once_in_order(
    http: httpx.Client, demo_data: DemoData, limit: int, query: JSONObject | None
) -> None:
    body: JSONObject = {"limit": limit, **({"query": query} if query else {})}
    listed = [c["id"] for c in _post_all(http, "/v2/customers/search", body, "customers")]
    filters = (query or {}).get("filter", {})
    sort = (query or {}).get("sort", {})

    def keep(customer: JSONObject) -> bool:
        for field, bounds in filters.items():
            stamp = parse_time(customer[field])
            if "start_at" in bounds and stamp < parse_time(bounds["start_at"]):
                return False
            if "end_at" in bounds and stamp > parse_time(bounds["end_at"]):
                return False
        return True

    chosen = [c for c in demo_data.customers if keep(c)]
    if sort.get("field") == "CREATED_AT":
        chosen.sort(key=lambda c: (parse_time(c["created_at"]), c["id"]), reverse=sort.get("order") == "DESC")
    else:
        chosen.sort(key=lambda c: (c["given_name"].lower(), c["family_name"].lower(), c["id"]))
    assert listed == [c["id"] for c in chosen]
    assert len(listed) > limit


def test_listing_customers_pages_through_the_whole_directory(http: httpx.Client, demo_data: DemoData) -> None:
    listed = _get_all(http, "/v2/customers", {"limit": 11, "sort_field": "CREATED_AT"}, "customers")
    assert [c["id"] for c in listed] == [
        c["id"] for c in sorted(demo_data.customers, key=lambda c: (parse_time(c["created_at"]), c["id"]))
    ]
    counted = http.get("/v2/customers", params={"limit": 1, "count": "true"}).json()
    assert counted["count"] == len(demo_data.customers)


def test_team_member_search_filters_by_location_status_and_owner(http: httpx.Client, demo_data: DemoData) -> None:
    everyone = _post_all(http, "/v2/team-members/search", {"limit": 2}, "team_members")
    assert sorted(m["id"] for m in everyone) == sorted(m["id"] for m in demo_data.team_members)
    location = demo_data.locations[0]["id"]
    body = {"query": {"filter": {"location_ids": [location], "status": "INACTIVE"}}}
    leavers = _post_all(http, "/v2/team-members/search", body, "team_members")
    assert {m["id"] for m in leavers} == {
        m["id"]
        for m in demo_data.team_members
        if m["status"] == "INACTIVE" and location in m["assigned_locations"].get("location_ids", ())
    }
    owner = http.post("/v2/team-members/search", json={"query": {"filter": {"is_owner": True}}}).json()
    assert [m["is_owner"] for m in owner["team_members"]] == [True]


def test_a_cursor_only_works_with_its_own_query(http: httpx.Client, demo_data: DemoData) -> None:
    first = http.get("/v2/payments", params={"limit": 5}).json()
    other = http.get("/v2/payments", params={"limit": 5, "sort_order": "ASC", "cursor": first["cursor"]})
    assert other.json()["errors"][0]["code"] == "INVALID_CURSOR"
    refunds = http.get("/v2/refunds", params={"limit": 5, "cursor": first["cursor"]})
    assert refunds.json()["errors"][0]["code"] == "INVALID_CURSOR"
    same = http.get("/v2/payments", params={"limit": 50, "cursor": first["cursor"]})
    assert same.status_code == 200  # the page size may change between pages


def test_batch_retrieve_and_retrieve_return_the_orders_as_generated(http: httpx.Client, demo_data: DemoData) -> None:
    wanted = [demo_data.orders[i]["id"] for i in (5, 1, 5, 40)] + ["NoSuchOrder"]
    found = http.post("/v2/orders/batch-retrieve", json={"order_ids": wanted}).json()["orders"]
    assert [o["id"] for o in found] == [wanted[0], wanted[1], wanted[3]]
    assert found[0] == demo_data.orders[5]
    single = http.get(f"/v2/orders/{wanted[1]}").json()
    assert single == {"order": demo_data.orders[1]}
    assert http.get(f"/v2/orders/{wanted[1].swapcase()}").status_code == 404  # ids are case-sensitive


def test_orders_search_by_customer_finds_exactly_their_orders(http: httpx.Client, demo_data: DemoData) -> None:
    customer = max(
        {o["customer_id"] for o in demo_data.orders if "customer_id" in o},
        key=lambda c: sum(o.get("customer_id") == c for o in demo_data.orders),
    )
    body = {
        "location_ids": [loc["id"] for loc in demo_data.locations],
        "limit": 40,
        "query": {"filter": {"customer_filter": {"customer_ids": [customer]}}},
    }
    listed = _post_all(http, "/v2/orders/search", body, "orders")
    assert sorted(o["id"] for o in listed) == sorted(
        o["id"] for o in demo_data.orders if o.get("customer_id") == customer
    )


def test_catalog_list_returns_every_live_object_of_the_types_asked(http: httpx.Client, demo_data: DemoData) -> None:
    types = ("ITEM", "ITEM_VARIATION", "CATEGORY", "TAX", "DISCOUNT", "MODIFIER_LIST", "MODIFIER")
    listed = _get_all(http, "/v2/catalog/list", {"types": ",".join(types).lower()}, "objects")
    expected = [o["id"] for o in demo_data.catalog_objects if o["type"] in types and not o["is_deleted"]]
    assert sorted(o["id"] for o in listed) == sorted(expected)
    assert len(expected) < len(demo_data.catalog_objects)  # the deleted item and its variation stay out
    default = _get_all(http, "/v2/catalog/list", {}, "objects")
    assert {o["type"] for o in default} == {"ITEM", "CATEGORY", "TAX", "DISCOUNT", "MODIFIER_LIST"}


def test_empty_pages_of_payments_and_customers_still_yield_everything_exactly_once(demo_data: DemoData) -> None:
    with (
        DemoServer(demo_data, access_token=TOKEN, faults=FaultConfig(empty_pages=True)) as server,
        httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        since = _iso(demo_data.anchor - timedelta(days=8))
        payments = _get_all(http, "/v2/payments", {"limit": 60, "begin_time": since}, "payments")
        customers = _post_all(http, "/v2/customers/search", {"limit": 5}, "customers")
        stats = http.get("/__demo/stats").json()["endpoints"]
    main = [
        p["id"]
        for p in demo_data.payments
        if p["location_id"] == demo_data.main_location_id and parse_time(p["created_at"]) >= parse_time(since)
    ]
    assert sorted(p["id"] for p in payments) == sorted(main) and len(payments) == len(main)
    assert sorted(c["id"] for c in customers) == sorted(c["id"] for c in demo_data.customers)
    assert stats["GET /v2/payments"]["faults"]["empty_pages"] > 0
    assert stats["POST /v2/customers/search"]["faults"]["empty_pages"] > 0
