"""Running the server: one event loop holding the MCP transport and the sync scheduler.

stdio (Claude Desktop, Claude Code) writes nothing but protocol to stdout; streamable HTTP binds to
127.0.0.1 by default and, given a token, requires ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

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

from square_bi.config import Settings
from square_bi.server.app import build_server
from square_bi.server.scheduler import SyncScheduler

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
    scheduler: SyncScheduler | None = None
    if options.sync_every is not None:
        if settings.square_access_token is None:
            log.warning("SQUARE_ACCESS_TOKEN is not set: serving %s without syncing", options.db)
        else:
            scheduler = SyncScheduler(settings, options.db, options.sync_every)
            scheduler.start()
    server = build_server(options.db, scheduler=scheduler)
    try:
        if options.transport == "stdio":
            await server.run_stdio_async()
        else:
            app: ASGIApp = server.streamable_http_app(host=options.host)
            if options.http_token:
                app = BearerTokenGate(app, options.http_token)
            config = uvicorn.Config(app, host=options.host, port=options.port, log_level="warning")
            print(f"square-bi MCP server on http://{options.host}:{options.port}/mcp", file=sys.stderr, flush=True)
            await uvicorn.Server(config).serve()
    finally:
        if scheduler is not None:
            await scheduler.shutdown()
