"""Injectable faults for the demo merchant: latency, rate limits, 5xx, dropped connections, expiring
cursors, empty pages and malformed orders. Each is off by default and reproducible under a seed.

``FaultConfig`` is passed to ``create_app``, ``DemoServer`` and ``serve_forever``. Faults apply to
``/v2/...`` requests only, never to ``/__demo/stats``; what happens on the wire:

* ``latency_ms`` + uniform ``latency_jitter_ms``: every request waits (``asyncio.sleep``) first;
* ``rate_limit_rps``: a token bucket per access token (burst ``max(1, rps)``); an empty bucket
  answers 429 ``RATE_LIMIT_ERROR``/``RATE_LIMITED``, with a whole-second ``Retry-After`` on a seeded
  ``retry_after_ratio`` of them and none on the others (Square does not document the header);
* ``error_rate``: that fraction of requests answers 500 ``INTERNAL_SERVER_ERROR`` or 503
  ``SERVICE_UNAVAILABLE`` (category ``API_ERROR``) before any work is done;
* ``drop_rate``: that fraction of requests sends the response head and part of the body, then the
  connection is aborted (the client sees a broken, incomplete response);
* ``cursor_ttl_s``: a cursor older than this (by the app's clock) gets 400 ``INVALID_CURSOR``;
* ``empty_pages``: before about one real page in four of orders and catalog searches, a page with
  no objects whose cursor continues exactly where the real page starts;
* ``malformed_rate``: that fraction of orders (fixed per order id, see :func:`is_malformed`) is
  always served broken: a line item without ``quantity``, or ``version`` as the string ``"x"``.

Per-request draws come from a ``random.Random`` seeded with the fault seed and the request's
sequence number, so the n-th request gets the same fate in every run with the same config.
Per-object and per-page decisions (malformed orders, empty pages) hash the seed with the order id
or the query and position instead, so they do not depend on request interleaving.
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JSONObject = dict[str, Any]

EMPTY_PAGE_RATIO = 0.25
"""With ``empty_pages``, the share of real pages preceded by an empty one."""


class FaultConfig(BaseModel):
    """Which faults the demo merchant injects; every field defaults to "off"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int | None = None
    """Seed of every fault decision; ``None`` means the demo merchant's own seed."""
    latency_ms: float = Field(default=0, ge=0, le=600_000)
    """Fixed delay added to every ``/v2`` request, in milliseconds."""
    latency_jitter_ms: float = Field(default=0, ge=0, le=600_000)
    """Uniformly distributed extra delay (0 to this), in milliseconds."""
    rate_limit_rps: float | None = Field(default=None, gt=0)
    """Requests per second allowed per access token (token bucket, burst ``max(1, rps)``)."""
    retry_after_ratio: float = Field(default=0.5, ge=0, le=1)
    """Share of 429 answers that carry a ``Retry-After`` header."""
    error_rate: float = Field(default=0, ge=0, le=1)
    """Share of ``/v2`` requests answered with a 500 or 503 before doing any work."""
    drop_rate: float = Field(default=0, ge=0, le=1)
    """Share of ``/v2`` requests whose connection is dropped mid-response."""
    cursor_ttl_s: float | None = Field(default=None, gt=0)
    """Cursors older than this many seconds get 400 ``INVALID_CURSOR``."""
    empty_pages: bool = False
    """Serve empty pages (cursor only) before some real pages of orders and catalog searches."""
    malformed_rate: float = Field(default=0, ge=0, le=1)
    """Share of orders always served with a schema violation."""
    forbidden_endpoints: frozenset[str] = frozenset()
    """Endpoints (``"GET /v2/payments"``) the access token lacks the permission for: 403
    ``INSUFFICIENT_SCOPES``, as Square answers a token missing an OAuth scope."""

    @property
    def enabled(self) -> bool:
        """True when any fault is switched on."""
        return (
            self.latency_ms > 0
            or self.latency_jitter_ms > 0
            or self.rate_limit_rps is not None
            or self.error_rate > 0
            or self.drop_rate > 0
            or self.cursor_ttl_s is not None
            or self.empty_pages
            or self.malformed_rate > 0
            or bool(self.forbidden_endpoints)
        )

    def resolved_seed(self, demo_seed: int = 0) -> int:
        return self.seed if self.seed is not None else demo_seed


NO_FAULTS = FaultConfig()


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) from a stable hash of ``parts`` (independent of PYTHONHASHSEED)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_malformed(order_id: str, faults: FaultConfig, demo_seed: int = 0) -> bool:
    """Whether the demo serves order ``order_id`` broken under ``faults`` (always the same answer).

    ``demo_seed`` matters only when ``faults.seed`` is ``None`` (the app then uses the demo's seed).
    """
    if faults.malformed_rate <= 0:
        return False
    return _unit("malformed", faults.resolved_seed(demo_seed), order_id) < faults.malformed_rate


def malform(order: JSONObject, seed: int) -> JSONObject:
    """A copy of ``order`` with one schema violation, chosen by a hash of its id.

    Orders with line items lose ``quantity`` from their first line item or get ``version: "x"``;
    orders without line items always get ``version: "x"``.
    """
    broken = copy.deepcopy(order)
    line_items = broken.get("line_items") or []
    if line_items and _unit("malform-kind", seed, order["id"]) < 0.5:
        line_items[0].pop("quantity", None)
    else:
        broken["version"] = "x"
    return broken


def wants_empty_page(seed: int, endpoint: str, query_fingerprint: str, position: int) -> bool:
    """Whether an empty page precedes the real page starting at ``position`` of this query."""
    return _unit("empty", seed, endpoint, query_fingerprint, position) < EMPTY_PAGE_RATIO


@dataclass(frozen=True)
class RequestFate:
    """What the faults do to one request, drawn from its sequence number."""

    delay_s: float
    server_error: int | None
    """500 or 503, or None."""
    drop: bool
    retry_after: bool
    """Whether a 429 for this request carries ``Retry-After``."""


def request_fate(faults: FaultConfig, seed: int, sequence: int) -> RequestFate:
    """The draws for the ``sequence``-th ``/v2`` request (always the same draws, in the same order)."""
    rng = random.Random(f"faults:{seed}:{sequence}")
    jitter, error, error_kind, drop, retry_after = (rng.random() for _ in range(5))
    return RequestFate(
        delay_s=(faults.latency_ms + jitter * faults.latency_jitter_ms) / 1000,
        server_error=(500 if error_kind < 0.5 else 503) if error < faults.error_rate else None,
        drop=drop < faults.drop_rate,
        retry_after=retry_after < faults.retry_after_ratio,
    )


class TokenBucket:
    """``rate`` tokens per second, holding at most ``max(1, rate)``; starts full."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = now

    def take(self, now: float) -> bool:
        """Take one token if there is one."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def retry_after_s(self) -> int:
        """Whole seconds (at least 1) until the next token."""
        return max(1, math.ceil((1 - self.tokens) / self.rate))
