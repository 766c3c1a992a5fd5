"""The ``square-bi`` command line: demo, emulator, sync, serve, query, status.

Every expected failure prints one line (``square-bi: error: ...``) on stderr and exits non-zero;
tracebacks are for bugs only. Logs go to stderr; stdout carries only results (and, for ``serve``
over stdio, only MCP protocol).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from square_bi.config import DEFAULT_DB_PATH, DEMO_DB_PATH, DEMO_TOKEN, Settings, load_settings
from square_bi.errors import SquareBIError

log = logging.getLogger("square_bi")


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _csv(value: str) -> list[str]:
    items = [part.strip() for part in value.split(",") if part.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return items


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="square-bi",
        description="Ask Claude about your Square shop: sync Square into DuckDB and serve metrics over MCP.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv for debug)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more logging on stderr (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[common], help="run the whole product on the built-in demo merchant")
    demo.add_argument("--db", type=Path, default=DEMO_DB_PATH, help=f"DuckDB file (default: ./{DEMO_DB_PATH})")
    _add_demo_data_flags(demo)

    emu = sub.add_parser("emulator", parents=[common], help="serve the Square-compatible demo merchant until stopped")
    emu.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    emu.add_argument("--port", type=int, default=8765, help="port to bind (default: 8765)")
    emu.add_argument("--access-token", default=DEMO_TOKEN, help=f"bearer token to accept (default: {DEMO_TOKEN})")
    _add_demo_data_flags(emu)
    faults = emu.add_argument_group("fault injection (all off by default; reproducible under --seed)")
    faults.add_argument(
        "--latency-ms", metavar="MS", type=float, default=0, help="delay every /v2 request by this many ms"
    )
    faults.add_argument(
        "--latency-jitter-ms", metavar="MS", type=float, default=0, help="add a uniformly random 0..N ms to that delay"
    )
    faults.add_argument(
        "--rate-limit",
        metavar="RPS",
        type=float,
        default=None,
        help="allow RPS requests per second per access token, answer 429 RATE_LIMITED beyond "
        "(Retry-After on about half of them)",
    )
    faults.add_argument(
        "--error-rate", metavar="RATE", type=float, default=0, help="share (0-1) of /v2 requests answered 500 or 503"
    )
    faults.add_argument(
        "--drop-rate",
        metavar="RATE",
        type=float,
        default=0,
        help="share (0-1) of /v2 requests whose connection drops mid-response",
    )
    faults.add_argument(
        "--cursor-ttl",
        metavar="SECONDS",
        type=float,
        default=None,
        help="refuse cursors older than this with 400 INVALID_CURSOR",
    )
    faults.add_argument(
        "--empty-pages", action="store_true", help="serve empty pages (cursor only) before some real pages"
    )
    faults.add_argument(
        "--malformed-rate",
        metavar="RATE",
        type=float,
        default=0,
        help="share (0-1) of orders always served with a schema violation (for dead-letter tests)",
    )
    live = emu.add_argument_group("live data (off by default; reproducible under --seed)")
    live.add_argument(
        "--live",
        action="store_true",
        help="keep the data changing on a simulated clock that starts at the anchor: new orders, "
        "returns and refunds, price edits, deleted items, customer edits",
    )
    live.add_argument(
        "--live-speed",
        metavar="N",
        type=float,
        default=None,
        help="simulated seconds per real second (default: 60, a simulated hour per minute)",
    )
    live.add_argument(
        "--webhook-url",
        metavar="URL",
        default=None,
        help="send Square-style signed webhook events for every change to URL (needs --live and --webhook-key)",
    )
    live.add_argument(
        "--webhook-key",
        metavar="KEY",
        default=None,
        help="the signature key to sign the events with (needs --live and --webhook-url)",
    )
    live.add_argument(
        "--live-rate",
        metavar="N",
        type=float,
        default=None,
        help="new orders per simulated hour across all locations (default: 60; other changes scale with it)",
    )

    sync = sub.add_parser(
        "sync", parents=[common], help="one incremental sync from Square (token from SQUARE_ACCESS_TOKEN)"
    )
    sync.add_argument(
        "--db", type=Path, default=None, help=f"DuckDB file (default: $SQUARE_BI_DB or ./{DEFAULT_DB_PATH})"
    )
    sync.add_argument("--base-url", default=None, help="API host, e.g. the demo merchant's http://127.0.0.1:8765")
    sync.add_argument("--full-refresh", action="store_true", help="ignore checkpoints and re-read everything")
    sync.add_argument("--streams", type=_csv, default=None, help="only these streams (locations,catalog,orders)")

    serve = sub.add_parser("serve", parents=[common], help="run the MCP server (and keep the data fresh)")
    serve.add_argument("--db", type=Path, default=None, help="DuckDB file to answer from and sync into")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="MCP transport (default: stdio)")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP interface (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default: 8000)")
    serve.add_argument(
        "--sync-every",
        type=_positive_int,
        default=15,
        metavar="MINUTES",
        help="sync from Square every N minutes (default: 15; needs SQUARE_ACCESS_TOKEN)",
    )
    serve.add_argument("--no-sync", action="store_true", help="serve only; never sync")
    serve.add_argument(
        "--http-token",
        default=None,
        help="require 'Authorization: Bearer TOKEN' on HTTP (default: $SQUARE_BI_HTTP_TOKEN, else none)",
    )
    hooks = serve.add_argument_group("Square webhooks (off unless a signature key is set)")
    hooks.add_argument(
        "--webhook-signature-key",
        metavar="KEY",
        default=None,
        help="the webhook subscription's signature key (default: $SQUARE_WEBHOOK_SIGNATURE_KEY; prefer the "
        "variable: flags show in the process list)",
    )
    hooks.add_argument(
        "--webhook-url",
        metavar="URL",
        default=None,
        help="the notification URL exactly as registered with Square (default: $SQUARE_WEBHOOK_URL)",
    )
    hooks.add_argument(
        "--webhook-port",
        type=int,
        default=8001,
        metavar="PORT",
        help="with --transport stdio: receive webhooks on 127.0.0.1:PORT (default: 8001); with http they share --port",
    )

    query = sub.add_parser(
        "query", parents=[common], help="query metrics from the shell, with the same compiler as the MCP tools"
    )
    query.add_argument("--db", type=Path, default=None, help="DuckDB file to query")
    query.add_argument("--metrics", type=_csv, required=True, help="comma-separated metric names")
    query.add_argument("--group-by", type=_csv, default=[], help="comma-separated dimensions, e.g. metric_time__week")
    query.add_argument("--order-by", type=_csv, default=[], help="names to sort by; prefix '-' for descending")
    query.add_argument("--limit", type=_positive_int, default=None, help="maximum rows")
    query.add_argument("--format", choices=["table", "json"], default="table", help="output format")

    status = sub.add_parser("status", parents=[common], help="per stream: watermark, last run, rows, errors")
    status.add_argument("--db", type=Path, default=None, help="DuckDB file")
    return parser


def _add_demo_data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=42, help="random seed; same seed, same shop (default: 42)")
    parser.add_argument("--days", type=_positive_int, default=90, help="days of order history (default: 90)")
    parser.add_argument("--locations", type=_positive_int, default=3, help="number of locations (default: 3)")
    parser.add_argument("--orders-per-day", type=_positive_int, default=200, help="orders per day (default: 200)")


def _db_path(args: argparse.Namespace, settings: Settings) -> Path:
    return args.db if args.db is not None else settings.db_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        handler = COMMANDS[args.command]
        return handler(args)
    except SquareBIError as exc:
        print(f"square-bi: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("square-bi: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`square-bi status | head`): stop quietly, like other shell tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from square_bi.commands.demo import run_demo

    return run_demo(args)


def _cmd_emulator(args: argparse.Namespace) -> int:
    from square_bi.commands.emulator import run_emulator

    return run_emulator(args)


def _cmd_sync(args: argparse.Namespace) -> int:
    from square_bi.commands.progress import sync_progress
    from square_bi.commands.sync import print_sync_result
    from square_bi.warehouse.sync import sync_warehouse

    overrides: dict[str, Any] = {}
    if args.base_url:
        overrides["SQUARE_BASE_URL"] = args.base_url
    settings = load_settings(**overrides)
    db = _db_path(args, settings)
    with sync_progress() as on_progress:
        result = asyncio.run(
            sync_warehouse(settings, db, full_refresh=args.full_refresh, streams=args.streams, on_progress=on_progress)
        )
    return print_sync_result(result, db)


def _cmd_serve(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from square_bi.server.run import ServeOptions, serve

    overrides: dict[str, Any] = {}
    if args.webhook_signature_key:
        overrides["SQUARE_WEBHOOK_SIGNATURE_KEY"] = args.webhook_signature_key
    if args.webhook_url:
        overrides["SQUARE_WEBHOOK_URL"] = args.webhook_url
    settings = load_settings(**overrides)
    options = ServeOptions(
        db=_db_path(args, settings),
        transport=args.transport,
        host=args.host,
        port=args.port,
        sync_every=None if args.no_sync else timedelta(minutes=args.sync_every),
        http_token=args.http_token or settings.http_token,
        webhook_port=args.webhook_port,
    )
    serve(options, settings)
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    from square_bi.commands.query import run_query_command

    settings = load_settings()
    return run_query_command(
        _db_path(args, settings),
        metrics=args.metrics,
        group_by=args.group_by,
        order_by=args.order_by,
        limit=args.limit,
        output=args.format,
    )


def _cmd_status(args: argparse.Namespace) -> int:
    from square_bi.commands.status import print_status

    settings = load_settings()
    return print_status(_db_path(args, settings))


COMMANDS = {
    "demo": _cmd_demo,
    "emulator": _cmd_emulator,
    "sync": _cmd_sync,
    "serve": _cmd_serve,
    "query": _cmd_query,
    "status": _cmd_status,
}


if __name__ == "__main__":
    raise SystemExit(main())
