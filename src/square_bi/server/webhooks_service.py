"""The webhook receiver as one unit (inbox + processor + FastAPI app), and the two ways to serve it.

With ``serve --transport http`` the receiver shares the MCP port: :class:`WebhookRouter` sends
``/webhooks/square`` to it *before* the bearer-token gate (Square authenticates with the signature,
it cannot send our bearer token) and everything else to the (gated) MCP app. With stdio, the
receiver gets its own uvicorn server on ``127.0.0.1:--webhook-port`` in the same event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from square_bi.config import Settings, WebhookSettings
from square_bi.errors import ConfigError
from square_bi.listen import listening_socket
from square_bi.server.webhooks import WEBHOOK_PATH, create_webhook_app
from square_bi.server.webhooks_inbox import WebhookInbox
from square_bi.server.webhooks_processor import WebhookProcessor

log = logging.getLogger(__name__)


@dataclass
class WebhookReceiver:
    app: FastAPI
    inbox: WebhookInbox
    processor: WebhookProcessor


@contextlib.asynccontextmanager
async def webhook_receiver(
    settings: Settings,
    db: Path,
    webhook: WebhookSettings,
    *,
    lock: asyncio.Lock | None = None,
    quiet_s: float = 0.4,
    max_wait_s: float = 2.0,
) -> AsyncIterator[WebhookReceiver]:
    """Open the inbox, start the processor (handling what an earlier run left pending), build the app."""
    settings.access_token()  # a receiver that cannot sync would only pile events up: fail now
    inbox = WebhookInbox(db)
    await asyncio.to_thread(inbox.open)
    processor = WebhookProcessor(settings, db, inbox, lock=lock, quiet_s=quiet_s, max_wait_s=max_wait_s)
    try:
        await inbox.prune()
        app = create_webhook_app(webhook, inbox, processor.notify)
        processor.start()
        yield WebhookReceiver(app, inbox, processor)
    finally:
        await processor.stop()
        await asyncio.to_thread(inbox.close)


class WebhookRouter:
    """``/webhooks/square`` to the webhook app, everything else (and the lifespan) to ``default``."""

    def __init__(self, webhooks: ASGIApp, default: ASGIApp) -> None:
        self.webhooks = webhooks
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH:
            await self.webhooks(scope, receive, send)
        else:
            await self.default(scope, receive, send)


class _InLoopServer(uvicorn.Server):
    """uvicorn without its signal handlers: it runs beside the stdio MCP server, which owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int, flag: str = "--webhook-port") -> socket.socket:
    """A listening socket (port 0: a free one), or a ConfigError naming ``flag``."""
    return listening_socket(host, port, who="The server", choose=flag)


@contextlib.asynccontextmanager
async def serve_in_loop(app: ASGIApp, sock: socket.socket) -> AsyncIterator[None]:
    """Serve ``app`` on ``sock`` in the running loop for the block; logs go to stderr only."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", log_config=None)
    server = _InLoopServer(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="webhook-http")
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise ConfigError("The webhook HTTP server stopped while starting.")
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
