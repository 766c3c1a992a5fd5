"""The live demo merchant's webhooks: Square-shaped, signed event notifications for every change.

:class:`WebhookSender` subscribes to a :class:`~.live.LiveMerchant` and posts one event per changed
object to a notification URL, the way Square does:

* ``order.created`` for a new order, ``order.updated`` for a changed one; both carry only the
  order's id, version, state and location (``data.object.order_created`` / ``order_updated``, as in
  Square's ``OrderCreatedEvent`` and ``OrderUpdatedEvent``), so the receiver must fetch the order;
* ``payment.created`` / ``payment.updated`` and ``refund.created`` / ``refund.updated`` with the
  whole object (``data.object.payment`` / ``refund``), ``customer.updated`` with the customer, and
  one ``catalog.version.updated`` per batch of catalog changes;
* header ``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(key, URL + body));
* like Square, deliveries can repeat (``duplicate_rate``: the same event, same ``event_id``, sent
  again a little later) and arrive out of order (``reorder_rate``: an event held back behind the
  next one); a failed delivery (connection error or a non-2xx answer) is retried with backoff, up
  to ``max_attempts``. All of it is reproducible under ``seed``.

The merchant calls listeners under its lock, so the listener only turns changes into JSON bodies
and queues them; a background thread delivers. With a ``clock`` the sender also advances the
merchant to the clock's time every ``tick_s`` (the live merchant otherwise only moves when a
request arrives), so events flow even when nobody polls the API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from .live import LiveChanges, LiveMerchant
from .timefmt import format_ms

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-square-hmacsha256-signature"
JSONObject = dict[str, Any]


def sign(notification_url: str, body: str, key: str) -> str:
    """Square's signature: base64(HMAC-SHA256(key, notification URL + body))."""
    digest = hmac.new(key.encode(), (notification_url + body).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _envelope(rng: random.Random, merchant_id: str, event_type: str, created_at: str, data: JSONObject) -> JSONObject:
    return {
        "merchant_id": merchant_id,
        "type": event_type,
        "event_id": _event_id(rng),
        "created_at": created_at,
        "data": data,
    }


def square_events(
    changes: LiveChanges,
    *,
    merchant_id: str,
    known_orders: set[str],
    created_at: str,
    rng: random.Random,
) -> list[JSONObject]:
    """The events Square would send for ``changes`` (``known_orders`` is updated with new order ids)."""
    events: list[JSONObject] = []
    for order in changes.orders.values():
        new = order["id"] not in known_orders
        known_orders.add(order["id"])
        kind = "created" if new else "updated"
        summary: JSONObject = {
            "order_id": order["id"],
            "version": order.get("version", 1),
            "location_id": order["location_id"],
            "state": order["state"],
            "created_at": order["created_at"],
        }
        if not new:
            summary["updated_at"] = order["updated_at"]
        data = {"type": f"order_{kind}", "id": order["id"], "object": {f"order_{kind}": summary}}
        events.append(_envelope(rng, merchant_id, f"order.{kind}", created_at, data))
    for name, objects in (("payment", changes.payments), ("refund", changes.refunds)):
        for obj in objects.values():
            kind = "created" if obj.get("created_at") == obj.get("updated_at") else "updated"
            data = {"type": name, "id": obj["id"], "object": {name: obj}}
            events.append(_envelope(rng, merchant_id, f"{name}.{kind}", created_at, data))
    for customer in changes.customers.values():
        data = {"type": "customer", "id": customer["id"], "object": {"customer": customer}}
        events.append(_envelope(rng, merchant_id, "customer.updated", created_at, data))
    if changes.catalog_objects:
        latest = max(str(obj.get("updated_at", created_at)) for obj in changes.catalog_objects.values())
        data = {"type": "catalog_version", "id": _event_id(rng), "object": {"catalog_version": {"updated_at": latest}}}
        events.append(_envelope(rng, merchant_id, "catalog.version.updated", created_at, data))
    return events


class WebhookSender:
    """Posts signed events for a live merchant's changes from a background thread (see the module docstring)."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        seed: int = 0,
        duplicate_rate: float = 0.02,
        reorder_rate: float = 0.05,
        max_attempts: int = 8,
        retry_base_s: float = 0.1,
        retry_max_s: float = 5.0,
        tick_s: float = 0.1,
        timeout_s: float = 10.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"The webhook URL must be http(s), got {url!r}.")
        if not key:
            raise ValueError("The webhook signature key is empty.")
        self.url = url
        self._key = key
        self.duplicate_rate = duplicate_rate
        self.reorder_rate = reorder_rate
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.tick_s = tick_s
        self.timeout_s = timeout_s
        self._ids_rng = random.Random(f"square-bi-webhooks:{seed}:ids")
        self._delivery_rng = random.Random(f"square-bi-webhooks:{seed}:delivery")
        self._queue: queue.Queue[tuple[str, str, str]] = queue.Queue()  # (event id, type, body)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._merchant: LiveMerchant | None = None
        self._known_orders: set[str] = set()
        self._lock = threading.Lock()
        self._pending = 0
        self.counts: Counter[str] = Counter()
        """``queued``, ``delivered``, ``duplicates``, ``reordered``, ``retries``, ``failed``, and
        ``status_<code>`` per answer."""
        self.delivered: list[tuple[str, str, float]] = []
        """(event id, type, monotonic time of the first successful delivery), in delivery order."""

    def attach(self, merchant: LiveMerchant, clock: Callable[[], datetime] | None = None) -> WebhookSender:
        """Subscribe to ``merchant``; with ``clock``, also keep advancing it to the clock's time."""
        with merchant.lock:
            self._known_orders = {order["id"] for order in merchant.data.orders}
            merchant.subscribe(self._on_changes)
        self._merchant = merchant
        if clock is not None:
            self._threads.append(
                threading.Thread(target=self._tick, args=(merchant, clock), name="demo-webhook-clock", daemon=True)
            )
        return self

    def start(self) -> WebhookSender:
        self._threads.append(threading.Thread(target=self._deliver_all, name="demo-webhook-sender", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop ticking, deliver what is queued (bounded by ``timeout``), stop."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def __enter__(self) -> WebhookSender:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def idle(self) -> bool:
        """Nothing queued, held back, waiting to be repeated or being delivered."""
        with self._lock:
            return self._pending == 0

    # -- producing (under the merchant's lock: only build and queue) --------------------------------

    def _on_changes(self, changes: LiveChanges) -> None:
        merchant = self._merchant
        merchant_id = merchant.data.merchant_id if merchant is not None else ""
        created_at = format_ms(merchant.now_us // 1000) if merchant is not None else ""
        events = square_events(
            changes,
            merchant_id=merchant_id,
            known_orders=self._known_orders,
            created_at=created_at,
            rng=self._ids_rng,
        )
        for event in events:
            self._queue.put((event["event_id"], event["type"], json.dumps(event, separators=(",", ":"))))
        with self._lock:
            self.counts["queued"] += len(events)
            self._pending += len(events)

    def _tick(self, merchant: LiveMerchant, clock: Callable[[], datetime]) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                merchant.advance_to(clock())
            except Exception:  # a broken tick must not silence the merchant forever
                log.exception("advancing the live merchant failed")

    # -- delivering (background thread) -------------------------------------------------------------

    def _deliver_all(self) -> None:
        held: tuple[str, str, str] | None = None
        repeats: list[tuple[float, tuple[str, str, str]]] = []
        with httpx.Client(timeout=self.timeout_s) as http:
            while True:
                now = time.monotonic()
                for _, repeat in [r for r in repeats if r[0] <= now]:
                    self._post(http, repeat, duplicate=True)
                repeats = [r for r in repeats if r[0] > now]
                try:
                    item = self._queue.get(timeout=0.05)
                except queue.Empty:
                    if held is not None:  # nothing came after it: send it now
                        self._post(http, held)
                        held = None
                    if self._stop.is_set() and not repeats:
                        return
                    continue
                if held is None and self._delivery_rng.random() < self.reorder_rate:
                    held = item  # sent after the next event
                    with self._lock:
                        self.counts["reordered"] += 1
                    continue
                self._post(http, item)
                if held is not None:
                    self._post(http, held)
                    held = None
                if self._delivery_rng.random() < self.duplicate_rate:
                    with self._lock:
                        self._pending += 1
                    repeats.append((time.monotonic() + self._delivery_rng.uniform(0.05, 0.5), item))

    def _post(self, http: httpx.Client, item: tuple[str, str, str], *, duplicate: bool = False) -> None:
        event_id, event_type, body = item
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.url, body, self._key)}
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = http.post(self.url, content=body.encode(), headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                status = 0
                log.info("webhook %s to %s failed: %s", event_id, self.url, type(exc).__name__)
            with self._lock:
                self.counts[f"status_{status}"] += 1
            if 200 <= status < 300:
                with self._lock:
                    self.counts["duplicates" if duplicate else "delivered"] += 1
                    if not duplicate:
                        self.delivered.append((event_id, event_type, time.monotonic()))
                    self._pending -= 1
                return
            if attempt < self.max_attempts:
                with self._lock:
                    self.counts["retries"] += 1
                time.sleep(min(self.retry_max_s, self.retry_base_s * 2 ** (attempt - 1)))
        with self._lock:
            self.counts["failed"] += 1
            self._pending -= 1
        log.warning("webhook %s (%s) not delivered after %d attempts", event_id, event_type, self.max_attempts)
