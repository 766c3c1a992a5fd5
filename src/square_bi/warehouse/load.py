"""Bulk, idempotent, version-aware upserts of Arrow pages into staging tables.

Replaying a page any number of times leaves the same tables; a row whose ``version`` is older than
the stored one is dropped; children (line items) are replaced together with their accepted parent.
Table and column names here are our own constants, never input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb
import pyarrow as pa

from square_bi.warehouse.staging import StagingTable


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, rows: pa.Table) -> Iterator[None]:
    """``rows`` visible to SQL as ``name`` for the block. If the block fails, the transaction is
    aborted and unregistering fails too: that second error is dropped, so the caller sees the
    first (a constraint violation, say), not "Current transaction is aborted"."""
    con.register(name, rows)
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):
            con.unregister(name)
        raise
    con.unregister(name)


def _key_match(table: str, other: str, key: tuple[str, ...]) -> str:
    return " AND ".join(f"{table}.{k} = {other}.{k}" for k in key)


PAGE_COLUMN = "_batch_page"
"""Optional column of a group of pages written together (``sink.merge_staged``): which page a row
came from. Of an object read twice in one group the newest version wins, the later page on a
tie, and only the children of that very page are kept."""


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
    paged = PAGE_COLUMN in rows.column_names
    newest = [f"{table.version} DESC"] if table.version else []
    if paged:
        newest.append(f"{PAGE_COLUMN} DESC")
    order = f"ORDER BY {', '.join(newest)}" if newest else ""
    drop = f" EXCLUDE ({PAGE_COLUMN})" if paged else ""
    # An incoming row older than the stored one is dropped here (anti join), so _incoming is
    # exactly what gets written.
    stale = (
        f" ANTI JOIN {table.name} AS t ON {_key_match('t', 'i', table.key)} AND t.{table.version} > i.{table.version}"
        if table.version
        else ""
    )
    with _registered(con, "_incoming_rows", rows):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _incoming AS SELECT i.* FROM ("
            f"SELECT * FROM _incoming_rows QUALIFY row_number() OVER (PARTITION BY {key} {order}) = 1) AS i{stale}"
        )
    [(replaced,)] = con.execute(
        f"DELETE FROM {table.name} AS t USING _incoming WHERE {_key_match('t', '_incoming', table.key)}"
    ).fetchall()
    [(accepted,)] = con.execute(f"INSERT INTO {table.name} BY NAME SELECT *{drop} FROM _incoming").fetchall()
    parent_key = table.key[0]
    for child, child_rows in children:
        if replaced:  # children are only ever written with their parent: new parents have none yet
            con.execute(f"DELETE FROM {child.name} WHERE {child.parent} IN (SELECT {parent_key} FROM _incoming)")
        if child_rows.num_rows == 0:
            continue
        same_page = f" AND c.{PAGE_COLUMN} = i.{PAGE_COLUMN}" if paged else ""
        with _registered(con, "_child_rows", child_rows):
            con.execute(
                f"INSERT INTO {child.name} BY NAME SELECT c.*{drop} FROM _child_rows AS c "
                f"SEMI JOIN _incoming AS i ON c.{child.parent} = i.{parent_key}{same_page}"
            )
    con.execute("DROP TABLE _incoming")
    return int(accepted)
