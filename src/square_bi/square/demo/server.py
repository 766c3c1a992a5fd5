"""Run the demo merchant on a real TCP port.

``DemoServer`` starts uvicorn in a background thread with its own event loop, so it works from
synchronous code (``with DemoServer(data) as server:``) and from async code
(``async with DemoServer(data) as server:``) alike; with ``port=0`` it binds a free port first
and ``base_url`` tells where. ``serve_forever`` is the blocking variant behind the CLI's
``emulator`` command. uvicorn logs only warnings and errors, always to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time
from types import TracebackType
from typing import Any, TextIO

import uvicorn

from square_bi.errors import ConfigError, SourceError
from square_bi.listen import listening_socket

from .app import Clock, DroppedConnection, create_app
from .faults import FaultConfig
from .generator import DemoConfig, DemoData, generate
from .live import LiveConfig, LiveMerchant, SimulatedClock
from .webhooks import WebhookSender

POLL_INTERVAL_S = 0.005


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class _DroppedConnectionFilter(logging.Filter):
    """Hides uvicorn's "Exception in ASGI application" for connections dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def log_config(level: str = "warning") -> dict[str, Any]:
    """uvicorn's default logging, with the access log moved from stdout to stderr (and injected
    connection drops not logged as errors)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"dropped_connections": {"()": _DroppedConnectionFilter}},
        "formatters": {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            },
        },
        "handlers": {
            "default": {"()": _StderrHandler, "formatter": "default", "filters": ["dropped_connections"]},
            "access": {"()": _StderrHandler, "formatter": "access"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["access"], "level": level.upper(), "propagate": False},
        },
    }


def _bind(host: str, port: int) -> socket.socket:
    return listening_socket(host, port, who="The demo merchant", choose="port (0 picks a free one)")


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _uvicorn_server(app: Any, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_config=log_config(log_level),
        log_level=log_level,
        access_log=log_level in ("debug", "trace", "info"),
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


class DemoServer:
    """The demo merchant on ``host:port`` in a background thread, as a context manager."""

    def __init__(
        self,
        data: DemoData,
        access_token: str = "demo-token",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock | None = None,
        faults: FaultConfig | None = None,
        live: LiveConfig | LiveMerchant | None = None,
        webhooks: WebhookSender | None = None,
        startup_timeout: float = 10.0,
        log_level: str = "warning",
    ) -> None:
        self.data = data
        self.access_token = access_token
        self.host = host
        self.faults = faults
        if webhooks is not None:
            if live is None:
                raise ValueError("Webhooks need a live merchant (live=...).")
            live = LiveMerchant(data, live) if isinstance(live, LiveConfig) else live
            clock = clock or SimulatedClock(data.anchor, live.config.speed)
            webhooks.attach(live, clock)
        self.webhooks = webhooks
        """Sends signed events for the live merchant's changes while the server runs (``webhooks=``)."""
        self.app = create_app(data, access_token, clock=clock, faults=faults, live=live)
        self.live: LiveMerchant | None = self.app.state.live
        """The live merchant (``live=``): ``advance_to`` it, or read its ``stats()``."""
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._log_level = log_level
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("The demo server is not running; use it as a context manager or call start().")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (no trailing slash)."""
        return _url(self.host, self.port)

    def start(self) -> DemoServer:
        """Bind, start serving and wait (bounded) until connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("The demo server is already running.")
        sock = _bind(self.host, self._requested_port)
        server = _uvicorn_server(self.app, self._log_level)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="square-demo-server", daemon=True)
        self._socket, self._server, self._thread = sock, server, thread
        self._port = sock.getsockname()[1]
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise SourceError(f"The demo merchant on {self.host}:{self._port} stopped while starting.")
            if time.monotonic() > deadline:
                self.stop()
                raise SourceError(
                    f"The demo merchant on {self.host}:{self._port} did not start within {self._startup_timeout} s."
                )
            time.sleep(POLL_INTERVAL_S)
        if self.webhooks is not None:
            self.webhooks.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to shut down and wait (bounded) for its thread; idempotent."""
        if self.webhooks is not None:
            self.webhooks.stop(timeout)
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self._port = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> DemoServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def serve_forever(
    config: DemoConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    access_token: str = "demo-token",
    *,
    faults: FaultConfig | None = None,
    live: LiveConfig | None = None,
    webhooks: WebhookSender | None = None,
    log_level: str = "warning",
) -> None:
    """Generate the demo merchant and serve it until Ctrl-C (SIGINT) or SIGTERM, then return.

    With ``live`` the data keeps changing on a simulated clock starting at the anchor (see ``live``);
    with ``webhooks`` too, every change is also posted as a signed Square event (see ``webhooks``).

    Prints the base URL (and any injected faults) to stderr once the port is listening. Run it on
    the main thread so uvicorn can install its signal handlers and shut down gracefully.
    """
    try:
        data = generate(config)
        merchant: LiveMerchant | None = None
        clock: SimulatedClock | None = None
        if webhooks is not None:
            if live is None:
                raise ConfigError("Webhooks need the live merchant (--live).")
            merchant = LiveMerchant(data, live)
            clock = SimulatedClock(data.anchor, live.speed)
            webhooks.attach(merchant, clock)
        app = create_app(data, access_token, clock=clock, faults=faults, live=merchant or live)
        sock = _bind(host, port)
        try:
            url = _url(host, sock.getsockname()[1])
            print(
                f"Demo Square merchant '{data.business_name}' ({len(data.locations)} locations, "
                f"{len(data.orders):,} orders) at {url} - press Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            if faults is not None and faults.enabled:
                injected = ", ".join(
                    f"{name}={value}"
                    for name, value in faults.model_dump(exclude_defaults=True).items()
                    if name != "seed"
                )
                print(f"Injecting faults: {injected}", file=sys.stderr, flush=True)
            if live is not None:
                print(
                    f"Live: {live.rate:g} new orders per simulated hour, simulated clock from "
                    f"{data.anchor.isoformat()} at {live.speed:g}x real time",
                    file=sys.stderr,
                    flush=True,
                )
            if webhooks is not None:
                print(f"Sending signed webhook events to {webhooks.url}", file=sys.stderr, flush=True)
                webhooks.start()
            try:
                _uvicorn_server(app, log_level).run(sockets=[sock])
            finally:
                if webhooks is not None:
                    webhooks.stop()
        finally:
            sock.close()
    except KeyboardInterrupt:
        # uvicorn re-raises the SIGINT it handled once it has shut down; Ctrl-C is the normal way out.
        return
