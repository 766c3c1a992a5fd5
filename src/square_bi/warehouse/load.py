"""Bulk, idempotent, version-aware upserts of Arrow pages into staging tables.

Replaying a page any number of times leaves the same tables; a row whose ``version`` is older than
the stored one is dropped; children (line items) are replaced together with their accepted parent.
Table and column names here are our own constants, never input.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from square_bi.warehouse.staging import StagingTable


def _key_match(table: str, other: str, key: tuple[str, ...]) -> str:
    return " AND ".join(f"{table}.{k} = {other}.{k}" for k in key)


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: StagingTable,
    rows: pa.Table,
    children: tuple[tuple[StagingTable, pa.Table], ...] = (),
) -> int:
    """Upsert ``rows`` (and replace their children) inside the caller's transaction.

    Returns how many parent rows were accepted (new, or at least as new as what was stored).
    """
    key = ", ".join(table.key)
    order = f"ORDER BY {table.version} DESC" if table.version else ""
    con.register("_page", rows)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _incoming AS SELECT * FROM _page "
            f"QUALIFY row_number() OVER (PARTITION BY {key} {order}) = 1"
        )
    finally:
        con.unregister("_page")
    if table.version:
        con.execute(
            f"DELETE FROM _incoming USING {table.name} AS t "
            f"WHERE {_key_match('t', '_incoming', table.key)} AND t.{table.version} > _incoming.{table.version}"
        )
    con.execute(f"DELETE FROM {table.name} AS t USING _incoming WHERE {_key_match('t', '_incoming', table.key)}")
    con.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM _incoming")
    (accepted,) = con.execute("SELECT count(*) FROM _incoming").fetchone() or (0,)
    for child, child_rows in children:
        parent_key = table.key[0]
        con.execute(f"DELETE FROM {child.name} WHERE {child.parent} IN (SELECT {parent_key} FROM _incoming)")
        con.register("_child_page", child_rows)
        try:
            con.execute(
                f"INSERT INTO {child.name} BY NAME SELECT * FROM _child_page "
                f"WHERE {child.parent} IN (SELECT {parent_key} FROM _incoming)"
            )
        finally:
            con.unregister("_child_page")
    con.execute("DROP TABLE _incoming")
    return int(accepted)
