"""``request_json``: Square's JSON through the SDK's HTTP layer, with nothing left behind."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import httpx
import orjson
import pytest
from square.core.api_error import ApiError
from square_demo_support import TOKEN

from square_bi.square.client import close_client, make_client, request_json, request_objects, start_request
from square_bi.square.demo import DemoData, DemoServer
from square_bi.square.demo.faults import FaultConfig


def test_request_json_returns_squares_body_and_frees_the_response_without_the_cyclic_collector(
    demo_server: DemoServer, http: httpx.Client, location_ids: list[str]
) -> None:
    query = {"location_ids": location_ids[:1], "limit": 5}
    responses: list[weakref.ref[httpx.Response]] = []

    async def remember(response: httpx.Response) -> None:
        responses.append(weakref.ref(response))

    async def fetch() -> tuple[dict[str, Any], list[httpx.Response | None]]:
        client = make_client(demo_server.base_url, TOKEN)
        client._client_wrapper.httpx_client.httpx_client.event_hooks = {"response": [remember]}
        gc.disable()  # only reference counting may free the response (and its body)
        try:
            body = await request_json(client, "POST", "v2/orders/search", json=query)
            alive = [ref() for ref in responses]
        finally:
            gc.enable()
            await close_client(client)
        return body, alive

    body, alive = asyncio.run(fetch())

    assert body["orders"] == http.post("/v2/orders/search", json=query).json()["orders"]
    assert len(body["orders"]) == 5
    assert alive == [None]


def _objects(base_url: str, query: dict[str, Any], token: str = TOKEN) -> tuple[list[str], str | None]:
    async def fetch() -> tuple[list[str], str | None]:
        client = make_client(base_url, token)
        try:
            return await request_objects(client, "POST", "v2/orders/search", "orders", json=query)
        finally:
            await close_client(client)

    return asyncio.run(fetch())


def test_request_objects_gives_each_orders_json_text_and_a_cursor_to_the_next_page(
    demo_server: DemoServer, http: httpx.Client, location_ids: list[str]
) -> None:
    query = {"location_ids": location_ids[:1], "limit": 5}
    expected = http.post("/v2/orders/search", json={**query, "limit": 10}).json()["orders"]

    texts, cursor = _objects(demo_server.base_url, query)

    assert [orjson.loads(text) for text in texts] == expected[:5]
    assert cursor is not None
    following = http.post("/v2/orders/search", json={**query, "cursor": cursor}).json()["orders"]
    assert following == expected[5:]


def test_request_objects_fails_as_the_sdk_does_with_squares_status_and_errors(
    demo_server: DemoServer, location_ids: list[str]
) -> None:
    with pytest.raises(ApiError) as caught:
        _objects(demo_server.base_url, {"location_ids": location_ids[:1]}, token="not-the-token")

    assert caught.value.status_code == 401
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["errors"][0]["category"] == "AUTHENTICATION_ERROR"


def test_start_request_says_when_the_request_is_on_its_way_long_before_its_answer(demo_data: DemoData) -> None:
    async def scenario(base_url: str) -> tuple[bool, dict[str, Any]]:
        client = make_client(base_url, TOKEN)
        try:
            task, sent = start_request(request_json(client, "GET", "v2/locations"))
            await asyncio.wait_for(sent.wait(), timeout=5)
            answered_when_sent = task.done()
            return answered_when_sent, await task
        finally:
            await close_client(client)

    # Square takes a second to answer; the request is written within milliseconds.
    with DemoServer(demo_data, access_token=TOKEN, faults=FaultConfig(latency_ms=1000)) as slow:
        answered_when_sent, body = asyncio.run(scenario(slow.base_url))

    assert not answered_when_sent
    assert {location["id"] for location in body["locations"]} == {location["id"] for location in demo_data.locations}


def test_start_request_sets_its_event_when_the_request_fails_before_it_is_sent() -> None:
    async def scenario() -> tuple[bool, BaseException | None]:
        client = make_client("http://127.0.0.1:9", TOKEN)  # nothing listens on the discard port
        try:
            task, sent = start_request(request_json(client, "GET", "v2/locations"))
            await asyncio.wait_for(sent.wait(), timeout=10)
            await asyncio.gather(task, return_exceptions=True)
            return sent.is_set(), task.exception()
        finally:
            await close_client(client)

    was_set, error = asyncio.run(scenario())

    assert was_set
    assert isinstance(error, httpx.ConnectError)
