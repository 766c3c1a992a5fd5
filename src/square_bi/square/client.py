"""The Square client factory and the translation of SDK failures into our exception tree.

We always talk to Square through the official SDK (``AsyncSquare``), pointed at any base URL: Square's
production or sandbox host, or the demo merchant on loopback. Errors leave this module as
:class:`~square_bi.errors.SourceError` subclasses whose text names the endpoint and what to do, and
never the token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextvars import ContextVar
from functools import cache
from typing import Any, TypeVar

import httpx
import msgspec
import orjson
from square import AsyncSquare
from square.core.api_error import ApiError
from square.core.request_options import RequestOptions

from square_bi.errors import CursorExpiredError, FatalSourceError, RetriableSourceError, SourceError

T = TypeVar("T")

RETRIABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})

NO_SDK_RETRIES: RequestOptions = {"max_retries": 0}


def make_client(base_url: str, token: str, *, timeout_s: float = 30.0) -> AsyncSquare:
    """An ``AsyncSquare`` for ``base_url`` with its own connection pool.

    Pass ``NO_SDK_RETRIES`` as ``request_options`` where the caller does its own backoff (the
    extractor does: it also retries dropped connections, which the SDK does not).
    """
    http = httpx.AsyncClient(
        timeout=timeout_s,
        limits=httpx.Limits(max_connections=32),
        event_hooks={"request": [_trace_if_watched]},
    )
    return AsyncSquare(token=token, base_url=base_url.rstrip("/"), httpx_client=http)


_request_sent: ContextVar[asyncio.Event | None] = ContextVar("square_bi_request_sent", default=None)
"""In a task started by :func:`start_request`: the event its first request sets once sent."""


async def _trace_if_watched(request: httpx.Request) -> None:
    """httpx's request hook: in a task started by :func:`start_request`, follow the request with
    httpcore's ``trace`` extension until its body is written."""
    sent = _request_sent.get()
    if sent is not None and not sent.is_set():

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event.endswith("send_request_body.complete"):
                sent.set()

        request.extensions["trace"] = trace


def start_request(request: Coroutine[Any, Any, T]) -> tuple[asyncio.Task[T], asyncio.Event]:
    """``request`` (a coroutine that talks to Square through a client from :func:`make_client`)
    as a task, and an event set once its first HTTP request is written to the socket, or the task
    is done (failed before sending, say). The caller can then let the loop run until the request is
    on its way before doing CPU work of its own."""
    sent = asyncio.Event()
    watching = _request_sent.set(sent)
    try:
        task = asyncio.create_task(request)
    finally:
        _request_sent.reset(watching)
    task.add_done_callback(lambda _: sent.set())
    return task, sent


async def close_client(client: AsyncSquare) -> None:
    """Close the client's connection pool."""
    await client._client_wrapper.httpx_client.httpx_client.aclose()


def _square_error_text(error: ApiError) -> str:
    """``CODE: detail`` for each error in Square's envelope (no headers, no token)."""
    body = error.body
    parts: list[str] = []
    if isinstance(body, dict):
        for item in body.get("errors") or []:
            if isinstance(item, dict):
                code = item.get("code", "UNKNOWN")
                detail = item.get("detail")
                parts.append(f"{code}: {detail}" if detail else str(code))
    return "; ".join(parts) or f"HTTP {error.status_code}"


def _retry_after(headers: dict[str, str] | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (Square does not document dates)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def square_error_codes(error: ApiError) -> set[str]:
    """The ``code`` of every error in Square's envelope."""
    body = error.body
    if not isinstance(body, dict):
        return set()
    return {str(item.get("code")) for item in body.get("errors") or [] if isinstance(item, dict)}


def translate_error(exc: BaseException, *, endpoint: str, base_url: str, scope: str | None = None) -> SourceError:
    """Map an SDK or transport failure to our tree, with an actionable, token-free message."""
    if isinstance(exc, ApiError):
        status = exc.status_code or 0
        text = _square_error_text(exc)
        if status == 401:
            return FatalSourceError(
                f"{endpoint}: Square rejected the access token ({text}). "
                "Check SQUARE_ACCESS_TOKEN and SQUARE_ENVIRONMENT (production vs sandbox)."
            )
        if status == 403:
            needed = f"the {scope} permission" if scope else "a permission"
            return FatalSourceError(
                f"{endpoint}: the access token lacks {needed} ({text}). Grant {scope or 'the missing scope'} "
                "to the application (or the personal access token) and set a new SQUARE_ACCESS_TOKEN."
            )
        if status == 400 and "INVALID_CURSOR" in square_error_codes(exc):
            return CursorExpiredError(f"{endpoint}: Square refused the pagination cursor ({text}).")
        if status in RETRIABLE_STATUSES:
            return RetriableSourceError(
                f"{endpoint}: Square answered HTTP {status} ({text}).",
                retry_after_s=_retry_after(exc.headers),
                rate_limited=status == 429,
            )
        return FatalSourceError(f"{endpoint}: Square answered HTTP {status} ({text}).")
    if isinstance(exc, httpx.TimeoutException):
        return RetriableSourceError(f"{endpoint}: timed out talking to {base_url}.")
    if isinstance(exc, httpx.TransportError):
        return RetriableSourceError(
            f"{endpoint}: could not reach {base_url} ({type(exc).__name__}). "
            "Check the base URL (--base-url / SQUARE_BASE_URL) and the network."
        )
    return SourceError(f"{endpoint}: unexpected failure: {type(exc).__name__}: {exc}")


def _release_body(response: httpx.Response) -> None:
    """Let reference counting free a read response and its body at once.

    httpx's ``Response`` and its ``stream`` refer to each other, so a response lives until the
    cyclic collector runs, which a sync runs rarely (``runner.SYNC_GC_THRESHOLDS``). Each page's
    body waited for it: a backfill in 100-order pages held some 200 MB of read responses.
    Replacing the spent stream (already read and closed) breaks the cycle."""
    response.stream = httpx.ByteStream(b"")


async def _send(
    client: AsyncSquare, method: str, path: str, json: dict[str, Any] | None, params: dict[str, Any] | None
) -> httpx.Response:
    """One request through the SDK's own HTTP layer (auth, base URL, ``Square-Version``), read whole."""
    http = client._client_wrapper.httpx_client
    response = await http.request(path, method=method, json=json, params=params, request_options=NO_SDK_RETRIES)
    _release_body(response)
    return response


def _api_error(response: httpx.Response) -> ApiError:
    """What the SDK's typed methods raise for this response: status, headers and (parsed) body."""
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = response.text
    return ApiError(status_code=response.status_code, headers=dict(response.headers), body=body)


async def request_json(
    client: AsyncSquare,
    method: str,
    path: str,
    *,
    json: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One request through the SDK's own HTTP layer, returning Square's JSON untouched.

    The bulk streams use this instead of the typed methods: the SDK builds its response models
    with ``construct_type``, which measured about 14 ms per order here (45 s for 2,000 orders),
    two orders of magnitude more than validating the same JSON with our pydantic models. Failures
    surface exactly as from the typed methods: ``ApiError`` with status, headers and body.
    """
    response = await _send(client, method, path, json, params)
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise _api_error(response) from None
    if 200 <= response.status_code < 300 and isinstance(body, dict):
        return body
    raise _api_error(response)


@cache
def _page_decoder(key: str) -> msgspec.json.Decoder[Any]:
    page = msgspec.defstruct("Page", [(key, list[msgspec.Raw], []), ("cursor", str | None, None)])
    return msgspec.json.Decoder(page)


async def request_objects(
    client: AsyncSquare,
    method: str,
    path: str,
    key: str,
    *,
    json: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[list[str], str | None]:
    """(the JSON text of each object in the body's ``key`` list, the body's ``cursor``) of one page,
    failing as :func:`request_json` does.

    For the biggest pages (orders): the objects are not parsed into dicts here. msgspec only finds
    each one's span in Square's bytes; pydantic then parses just the fields our records declare
    (``validate_json``), and the text itself is what the ``raw`` column keeps. Against parsing the
    page into dicts, validating those and serialising each again for ``raw``, this took 21 instead
    of 31 ms per 1,000-order page.
    """
    response = await _send(client, method, path, json, params)
    if not 200 <= response.status_code < 300:
        raise _api_error(response)
    try:
        page = _page_decoder(key).decode(response.content)
        objects = [str(obj, "utf-8") for obj in getattr(page, key)]
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise _api_error(response) from None
    return objects, page.cursor or None


def to_json(model: Any) -> dict[str, Any]:
    """An SDK response object back to Square's JSON shape (only the fields Square sent)."""
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dumped
