"""Builds the star schema from staging: one SQL model per file in ``models/``, run in file order
(their dependency order) inside one transaction, so readers see the old star or the new one, never
half of each.
"""

from __future__ import annotations

from importlib import resources

import duckdb

from square_bi.warehouse.database import transaction
from square_bi.warehouse.operational import create_operational_tables
from square_bi.warehouse.staging import create_staging_tables

STAR_TABLES = (
    "dim_location",
    "dim_item",
    "fct_order_line_item",
    "fct_order",
    "fct_payment",
    "fct_refund",
    "dim_customer",
    "dim_team_member",
    "dim_date",
)


def model_sql() -> list[tuple[str, str]]:
    """(file name, SQL) of every star-schema model, in dependency order."""
    folder = resources.files("square_bi.warehouse") / "models"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name, f.read_text(encoding="utf-8")) for f in files]


def initialize(con: duckdb.DuckDBPyConnection) -> None:
    """Create operational and staging tables (idempotent)."""
    create_operational_tables(con)
    create_staging_tables(con)


def build_star_schema(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild every star table from staging; returns row counts per table."""
    with transaction(con):
        for _name, sql in model_sql():
            con.execute(sql)
    counts: dict[str, int] = {}
    for table in STAR_TABLES:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
