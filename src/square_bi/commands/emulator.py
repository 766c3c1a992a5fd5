"""``square-bi emulator``: serve the demo merchant until stopped."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pydantic import ValidationError

from square_bi.errors import ConfigError

if TYPE_CHECKING:
    from square_bi.square.demo import DemoConfig
    from square_bi.square.demo.faults import FaultConfig
    from square_bi.square.demo.live import LiveConfig
    from square_bi.square.demo.webhooks import WebhookSender

FAULT_FLAGS = {
    "latency_ms": "--latency-ms",
    "latency_jitter_ms": "--latency-jitter-ms",
    "rate_limit_rps": "--rate-limit",
    "error_rate": "--error-rate",
    "drop_rate": "--drop-rate",
    "cursor_ttl_s": "--cursor-ttl",
    "empty_pages": "--empty-pages",
    "malformed_rate": "--malformed-rate",
}
"""``FaultConfig`` field -> the emulator flag that sets it."""


def demo_config(args: argparse.Namespace) -> DemoConfig:
    """The demo merchant's config from the shared ``--seed/--days/--locations/--orders-per-day`` flags."""
    from square_bi.square.demo import DemoConfig

    try:
        return DemoConfig(seed=args.seed, days=args.days, locations=args.locations, orders_per_day=args.orders_per_day)
    except ValidationError as exc:
        problems = "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"Invalid demo merchant settings: {problems}") from None


def fault_config(args: argparse.Namespace) -> FaultConfig:
    """The injected faults from the emulator's fault flags (seeded by ``--seed``)."""
    from square_bi.square.demo.faults import FaultConfig

    values = {field: getattr(args, _dest(flag)) for field, flag in FAULT_FLAGS.items()}
    try:
        return FaultConfig(seed=args.seed, **values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{FAULT_FLAGS.get(str(e['loc'][0]), str(e['loc'][0])) if e['loc'] else 'faults'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"Invalid fault settings: {problems}") from None


LIVE_FLAGS = {"rate": "--live-rate", "speed": "--live-speed"}
"""``LiveConfig`` field -> the emulator flag that sets it."""


def live_config(args: argparse.Namespace) -> LiveConfig | None:
    """The live merchant's settings from ``--live``/``--live-rate``/``--live-speed`` (None without
    ``--live``; the rate and speed flags alone are an error). Seeded by ``--seed``."""
    from square_bi.square.demo.live import LiveConfig

    values = {field: getattr(args, _dest(flag)) for field, flag in LIVE_FLAGS.items()}
    given = [LIVE_FLAGS[field] for field, value in values.items() if value is not None]
    if not args.live:
        if given:
            raise ConfigError(f"{', '.join(given)} need --live.")
        return None
    try:
        return LiveConfig(seed=args.seed, **{field: value for field, value in values.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{LIVE_FLAGS.get(str(e['loc'][0]), str(e['loc'][0])) if e['loc'] else 'live'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"Invalid live settings: {problems}") from None


def webhook_sender(args: argparse.Namespace) -> WebhookSender | None:
    """The demo merchant's webhook sender from ``--webhook-url``/``--webhook-key`` (both, with ``--live``)."""
    from square_bi.square.demo.webhooks import WebhookSender

    url, key = args.webhook_url, args.webhook_key
    if url is None and key is None:
        return None
    if not args.live:
        raise ConfigError("--webhook-url and --webhook-key need --live (events are sent as the live data changes).")
    if not url or not key:
        raise ConfigError("Webhooks need both --webhook-url (where to post) and --webhook-key (what to sign with).")
    try:
        return WebhookSender(url, key, seed=args.seed)
    except ValueError as exc:
        raise ConfigError(f"--webhook-url/--webhook-key: {exc}") from None


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def run_emulator(args: argparse.Namespace) -> int:
    from square_bi.square.demo import serve_forever

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving the demo merchant on {args.host}, reachable beyond this machine", file=sys.stderr)
    try:
        serve_forever(
            demo_config(args),
            host=args.host,
            port=args.port,
            access_token=args.access_token,
            faults=fault_config(args),
            live=live_config(args),
            webhooks=webhook_sender(args),
        )
    except OSError as exc:
        raise ConfigError(f"Could not serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    return 0
