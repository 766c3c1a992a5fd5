"""Opaque pagination cursors bound to the query that produced them.

Square's cursors are opaque strings that "only work with the original query": sending one with
a different query, or a string Square never issued, gets a 400 ``INVALID_CURSOR``. For
``SearchOrders`` an omitted ``end_at`` is pinned to the time of the first request of the
cursor chain, so later pages never pick up orders that arrived after paging began.

A demo cursor is ``base64url(json payload) + "." + base64url(hmac)``. The payload holds the
query fingerprint, the position of the next result in the server's index and the pinned end;
the HMAC (keyed by the merchant and endpoint) rejects edited or foreign cursors.

With fault injection (``faults.FaultConfig``) a cursor can also carry its issue time (when a TTL
is set: older cursors get ``INVALID_CURSOR`` as an :class:`ExpiredCursorError`) and a flag saying
an empty page was already served for its position.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .wire import SquareRequestError, bad_request

INVALID_CURSOR_DETAIL = "The cursor is invalid, expired, or was issued for a different query."


class ExpiredCursorError(SquareRequestError):
    """400 ``INVALID_CURSOR`` for a well-formed cursor older than the TTL (counted in the stats)."""

    def __init__(self) -> None:
        super().__init__(400, "INVALID_CURSOR", INVALID_CURSOR_DETAIL, field="cursor")


def fingerprint(query: Any) -> str:
    """Stable hash of a normalized query (any JSON-serialisable value)."""
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class CursorState:
    position: int
    pinned_end_us: int | None
    empty_served: bool = False
    """An empty page was already served for ``position`` (fault injection): serve the real one."""
    key: tuple[Any, ...] | None = None
    """The sort key of the entry at ``position``: when set, the reader finds the position again by
    this key, so entries inserted into a live index (see ``live``) never shift a cursor."""


class CursorCodec:
    """Issues and checks cursors for one endpoint of one demo merchant."""

    def __init__(
        self, secret: str, endpoint: str, *, ttl_us: int | None = None, clock_us: Callable[[], int] | None = None
    ) -> None:
        """``ttl_us`` (with ``clock_us``, the current time in epoch microseconds) makes cursors expire."""
        if ttl_us is not None and clock_us is None:
            raise ValueError("A cursor TTL needs a clock.")
        self._key = hashlib.sha256(f"{secret}:{endpoint}".encode()).digest()
        self._ttl_us = ttl_us
        self._clock_us = clock_us

    def _mac(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest()[:12])

    def encode(self, query_fingerprint: str, state: CursorState) -> str:
        data: dict[str, Any] = {"q": query_fingerprint, "p": state.position, "e": state.pinned_end_us}
        if state.empty_served:
            data["k"] = 1
        if state.key is not None:
            data["s"] = list(state.key)
        if self._ttl_us is not None and self._clock_us is not None:
            data["t"] = self._clock_us()
        payload = json.dumps(data, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{self._mac(payload)}"

    def decode(self, cursor: str, query_fingerprint: str) -> CursorState:
        """Check ``cursor`` against the current query; 400 ``INVALID_CURSOR`` if it does not fit."""
        invalid = bad_request("INVALID_CURSOR", INVALID_CURSOR_DETAIL, "cursor")
        try:
            encoded, mac = cursor.split(".", 1)
            payload = _unb64(encoded)
            valid_mac = hmac.compare_digest(mac, self._mac(payload))
            data = json.loads(payload) if valid_mac else None
        except (ValueError, UnicodeDecodeError):
            raise invalid from None
        if not isinstance(data, dict) or data.get("q") != query_fingerprint:
            raise invalid
        position, pinned = data.get("p"), data.get("e")
        if not isinstance(position, int) or position < 0 or not (pinned is None or isinstance(pinned, int)):
            raise invalid
        if self._ttl_us is not None and self._clock_us is not None:
            issued = data.get("t")
            if not isinstance(issued, int) or self._clock_us() - issued > self._ttl_us:
                raise ExpiredCursorError()
        key = data.get("s")
        if key is not None and not isinstance(key, list):
            raise invalid
        return CursorState(
            position=position,
            pinned_end_us=pinned,
            empty_served=data.get("k") == 1,
            key=None if key is None else tuple(key),
        )
