"""Opaque pagination cursors bound to the query that produced them.

Square's cursors are opaque strings that "only work with the original query": sending one with
a different query, or a string Square never issued, gets a 400 ``INVALID_CURSOR``. For
``SearchOrders`` an omitted ``end_at`` is pinned to the time of the first request of the
cursor chain, so later pages never pick up orders that arrived after paging began.

A demo cursor is ``base64url(json payload) + "." + base64url(hmac)``. The payload holds the
query fingerprint, the position of the next result in the server's index and the pinned end;
the HMAC (keyed by the merchant and endpoint) rejects edited or foreign cursors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from .wire import bad_request


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


class CursorCodec:
    """Issues and checks cursors for one endpoint of one demo merchant."""

    def __init__(self, secret: str, endpoint: str) -> None:
        self._key = hashlib.sha256(f"{secret}:{endpoint}".encode()).digest()

    def _mac(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest()[:12])

    def encode(self, query_fingerprint: str, state: CursorState) -> str:
        payload = json.dumps(
            {"q": query_fingerprint, "p": state.position, "e": state.pinned_end_us}, separators=(",", ":")
        ).encode()
        return f"{_b64(payload)}.{self._mac(payload)}"

    def decode(self, cursor: str, query_fingerprint: str) -> CursorState:
        """Check ``cursor`` against the current query; 400 ``INVALID_CURSOR`` if it does not fit."""
        invalid = bad_request(
            "INVALID_CURSOR",
            "The cursor is invalid, expired, or was issued for a different query.",
            "cursor",
        )
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
        return CursorState(position=position, pinned_end_us=pinned)
