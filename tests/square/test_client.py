"""``request_json``: Square's JSON through the SDK's HTTP layer, with nothing left behind."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import httpx
from square_demo_support import TOKEN

from square_bi.square.client import close_client, make_client, request_json
from square_bi.square.demo import DemoServer


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
