"""A Square-compatible demo merchant: deterministic data served over Square's wire format.

``generate(DemoConfig(...))`` builds the data, ``create_app(data)`` serves it as an ASGI app,
``DemoServer(data)`` runs that app on a local port and ``serve_forever`` backs the CLI.
``live=LiveConfig(...)`` (app, server, ``serve_forever``) keeps the data changing on a simulated
clock (see ``live``).
"""

from .app import create_app
from .generator import DemoConfig, DemoData, generate
from .live import LiveConfig, LiveMerchant, ManualClock, SimulatedClock
from .server import DemoServer, serve_forever

__all__ = [
    "DemoConfig",
    "DemoData",
    "DemoServer",
    "LiveConfig",
    "LiveMerchant",
    "ManualClock",
    "SimulatedClock",
    "create_app",
    "generate",
    "serve_forever",
]
