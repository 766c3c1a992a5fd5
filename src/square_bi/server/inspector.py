"""Entry point for the MCP Inspector: ``SQUARE_BI_DB=square_bi_demo.duckdb uv run mcp dev
src/square_bi/server/inspector.py``.

``mcp dev`` imports a file and looks for a module-level ``server``, so this module (unlike the rest
of the package) builds one at import, from the settings in the environment (``SQUARE_BI_DB``,
default ``./square_bi.duckdb``). It serves only; syncing stays with ``square-bi serve``/``sync``.
"""

from __future__ import annotations

from square_bi.config import load_settings
from square_bi.server.app import build_server

server = build_server(load_settings().db_path)
