"""The live demo merchant's webhooks: Square-shaped, signed events for every change, delivered with
Square's habits (repeats, reordering, retries), received here by a plain recording HTTP server and
checked with the SDK's own ``verify_signature``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from square.utils.webhooks_helper import verify_signature

from square_bi.cli import main
from square_bi.square.demo import DemoConfig, DemoData, generate
from square_bi.square.demo.live import LiveChanges, LiveConfig, LiveMerchant, ManualClock
from square_bi.square.demo.webhooks import WebhookSender

KEY = "demo-signature-key"
ANCHOR_CONFIG = DemoConfig(seed=5, days=2, locations=2, orders_per_day=40)


class Recorder:
    """Records every POST (headers, body); answers with ``statuses`` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], str]] = []
        self.statuses = list(statuses or [])
        self.lock = threading.Lock()

    def all_signed(self, url: str) -> bool:
        """Every recorded delivery carries Square's signature of ``url`` + body under ``KEY`` (checked
        with the SDK's own verifier)."""
        with self.lock:
            return all(
                verify_signature(
                    request_body=body,
                    signature_header=headers["x-square-hmacsha256-signature"],
                    signature_key=KEY,
                    notification_url=url,
                )
                for headers, body in self.requests
            )

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.requests]


@contextmanager
def recording_server(recorder: Recorder) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            if len(raw) < length:
                return  # the sender went away mid-body (e.g. terminated at the end of a test): not a delivery
            body = raw.decode()
            with recorder.lock:
                status = recorder.statuses.pop(0) if recorder.statuses else 200
                if status == 200:
                    recorder.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/square"
    finally:
        server.shutdown()
        server.server_close()


def wait_until(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.fixture
def data() -> DemoData:
    return generate(ANCHOR_CONFIG)


def run_live(data: DemoData, url: str, minutes: int, **options: Any) -> tuple[WebhookSender, list[LiveChanges]]:
    """Attach a sender to a live merchant on a manual clock, move the clock, wait for the deliveries."""
    clock = ManualClock(data.anchor)
    merchant = LiveMerchant(data, LiveConfig(rate=600, seed=9))
    sender = WebhookSender(url, KEY, seed=4, **options).attach(merchant, clock)
    batches: list[LiveChanges] = []
    merchant.subscribe(batches.append)
    with sender:
        clock.advance(timedelta(minutes=minutes))
        wait_until(lambda: bool(sender.counts["queued"]) and sender.idle())
    return sender, batches


def test_every_change_is_posted_once_as_a_signed_square_event(data: DemoData) -> None:
    initial_orders = {order["id"] for order in data.orders}
    recorder = Recorder()
    with recording_server(recorder) as url:
        sender, batches = run_live(data, url, 10, duplicate_rate=0, reorder_rate=0)
    assert recorder.all_signed(url)
    events = recorder.events()
    assert len({e["event_id"] for e in events}) == len(events) == sender.counts["delivered"]
    assert all(e["merchant_id"] == data.merchant_id for e in events)
    changed_orders = {oid: o for batch in batches for oid, o in batch.orders.items()}
    changed_payments = {pid: p for batch in batches for pid, p in batch.payments.items()}
    assert len(changed_orders) >= 20
    order_events = {e["data"]["id"]: e for e in events if e["type"].startswith("order.")}
    assert set(order_events) == set(changed_orders)
    for order_id, event in order_events.items():
        order = changed_orders[order_id]
        kind = "updated" if order_id in initial_orders else "created"
        assert event["type"] == f"order.{kind}" and event["data"]["type"] == f"order_{kind}"
        summary = event["data"]["object"][f"order_{kind}"]
        assert {k: summary[k] for k in ("order_id", "version", "state", "location_id")} == {
            "order_id": order_id,
            "version": order["version"],
            "state": order["state"],
            "location_id": order["location_id"],
        }
        assert "line_items" not in summary, "order events name the order; the receiver fetches it"
    payment_events = {e["data"]["id"]: e for e in events if e["type"].startswith("payment.")}
    assert set(payment_events) == set(changed_payments)
    assert all(payment_events[pid]["data"]["object"]["payment"] == p for pid, p in changed_payments.items())


def test_deliveries_repeat_and_arrive_out_of_order_like_squares(data: DemoData) -> None:
    recorder = Recorder()
    with recording_server(recorder) as url:
        sender, batches = run_live(data, url, 10, duplicate_rate=0.3, reorder_rate=0.3)
    bodies_by_id: dict[str, set[str]] = {}
    arrivals: list[str] = []
    for _, body in recorder.requests:
        event = json.loads(body)
        if event["event_id"] not in bodies_by_id and event["type"].startswith("order."):
            arrivals.append(event["data"]["id"])
        bodies_by_id.setdefault(event["event_id"], set()).add(body)
    generated = [order_id for batch in batches for order_id in batch.orders]
    repeats = len(recorder.requests) - len(bodies_by_id)
    assert repeats == sender.counts["duplicates"] > 0
    assert all(len(bodies) == 1 for bodies in bodies_by_id.values()), "a repeat is the same delivery"
    assert sorted(arrivals) == sorted(generated) and arrivals != generated


def test_a_failed_delivery_is_retried_until_the_receiver_takes_it(data: DemoData) -> None:
    recorder = Recorder(statuses=[503, 500, 503])
    with recording_server(recorder) as url:
        sender, _ = run_live(data, url, 2, duplicate_rate=0, reorder_rate=0, retry_base_s=0.01)
    assert sender.counts["retries"] == 3 and sender.counts["failed"] == 0
    assert len(recorder.requests) == sender.counts["queued"] == sender.counts["delivered"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--webhook-url", "http://127.0.0.1:9/h", "--webhook-key", "k"], "need --live"),
        (["--live", "--webhook-url", "http://127.0.0.1:9/h"], "--webhook-key"),
        (["--live", "--webhook-key", "k"], "--webhook-url"),
        (["--live", "--webhook-url", "ftp://x", "--webhook-key", "k"], "http(s)"),
    ],
)
def test_the_emulator_webhook_flags_need_live_and_each_other(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "--port", "0", *flags]) == 1
    assert message in capsys.readouterr().err


def test_the_emulator_sends_signed_events_as_its_live_data_changes() -> None:
    recorder = Recorder()
    with recording_server(recorder) as url:
        command = [
            sys.executable,
            "-m",
            "square_bi.cli",
            "emulator",
            "--port",
            "0",
            "--days",
            "1",
            "--orders-per-day",
            "20",
            "--live",
            "--live-rate",
            "3600",
            "--live-speed",
            "600",
            "--webhook-url",
            url,
            "--webhook-key",
            KEY,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SQUARE_")}
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            wait_until(lambda: len(recorder.requests) >= 5 or process.poll() is not None, timeout_s=60)
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=20)
    assert len(recorder.requests) >= 5, stderr.decode()
    assert "Sending signed webhook events to" in stderr.decode()
    assert recorder.all_signed(url)
