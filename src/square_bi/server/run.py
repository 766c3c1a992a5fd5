"""Running the server: one event loop holding the MCP transport and the sync scheduler.

stdio (Claude Desktop, Claude Code) writes nothing but protocol to stdout; streamable HTTP binds to
127.0.0.1 by default and, given a token, requires ``Authorization: Bearer <token>``. With a webhook
signature key, Square's events are received on ``/webhooks/square`` (the MCP port over HTTP, else
``127.0.0.1:webhook_port``) and turned into targeted syncs in the same loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import anyio
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from square_bi.config import Settings, webhook_settings
from square_bi.server.app import build_server
from square_bi.server.scheduler import SyncScheduler
from square_bi.server.webhooks import WEBHOOK_PATH
from square_bi.server.webhooks_service import WebhookReceiver, WebhookRouter, bind, serve_in_loop, webhook_receiver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    db: Path
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    sync_every: timedelta | None = timedelta(minutes=15)
    """None: serve only, never sync."""
    http_token: str | None = None
    webhook_port: int = 8001
    """Where webhooks are received when the MCP transport is stdio (127.0.0.1 only)."""


class BearerTokenGate:
    """Reject HTTP requests without ``Authorization: Bearer <token>`` (constant-time compare)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send(
                    {"type": "http.response.start", "status": 401, "headers": [(b"www-authenticate", b"Bearer")]}
                )
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await self.app(scope, receive, send)


def serve(options: ServeOptions, settings: Settings) -> None:
    anyio.run(_serve, options, settings)


async def _serve(options: ServeOptions, settings: Settings) -> None:
    webhook = webhook_settings(settings)
    scheduler: SyncScheduler | None = None
    if options.sync_every is not None:
        if settings.square_access_token is None:
            log.warning("SQUARE_ACCESS_TOKEN is not set: serving %s without syncing", options.db)
        else:
            scheduler = SyncScheduler(settings, options.db, options.sync_every)
            scheduler.start()
    server = build_server(options.db, scheduler=scheduler)
    lock = scheduler.lock if scheduler is not None else asyncio.Lock()
    try:
        async with contextlib.AsyncExitStack() as stack:
            receiver: WebhookReceiver | None = None
            if webhook is not None:
                receiver = await stack.enter_async_context(webhook_receiver(settings, options.db, webhook, lock=lock))
            if options.transport == "stdio":
                if receiver is not None and webhook is not None:
                    sock = bind("127.0.0.1", options.webhook_port)
                    await stack.enter_async_context(serve_in_loop(receiver.app, sock))
                    print(
                        f"square-bi receiving Square webhooks on http://127.0.0.1:{sock.getsockname()[1]}"
                        f"{WEBHOOK_PATH} (registered with Square as {webhook.notification_url})",
                        file=sys.stderr,
                        flush=True,
                    )
                await server.run_stdio_async()
            else:
                app: ASGIApp = server.streamable_http_app(host=options.host)
                if options.http_token:
                    app = BearerTokenGate(app, options.http_token)
                if receiver is not None:
                    # Square cannot send our bearer token: its deliveries are authenticated by signature.
                    app = WebhookRouter(receiver.app, app)
                config = uvicorn.Config(app, host=options.host, port=options.port, log_level="warning")
                print(f"square-bi MCP server on http://{options.host}:{options.port}/mcp", file=sys.stderr, flush=True)
                if receiver is not None:
                    print(
                        f"square-bi receiving Square webhooks on http://{options.host}:{options.port}{WEBHOOK_PATH}",
                        file=sys.stderr,
                        flush=True,
                    )
                await uvicorn.Server(config).serve(sockets=[bind(options.host, options.port, "--port")])
    finally:
        if scheduler is not None:
            await scheduler.shutdown()
