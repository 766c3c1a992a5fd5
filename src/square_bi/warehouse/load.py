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


ROW_COLUMN = "_incoming_row"
"""Added to the incoming rows here: each row's position, so the statements after the first can
name the rows that were accepted without copying them."""


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: StagingTable,
    rows: pa.Table,
    children: tuple[tuple[StagingTable, pa.Table], ...] = (),
) -> int:
    """Upsert ``rows`` (and replace their children) inside the caller's transaction.

    Returns how many parent rows were accepted (new, or at least as new as what was stored).

    Only the keys of the accepted rows are written to a temporary table (``_accepted``); the rows
    themselves go from the Arrow table straight into the staging table. Copying whole rows (with
    their JSON) into a temporary table first, and from there into the staging table, cost the
    writer a copy of every byte.
    """
    key = ", ".join(table.key)
    paged = PAGE_COLUMN in rows.column_names
    newest = [f"{table.version} DESC"] if table.version else []
    if paged:
        newest.append(f"{PAGE_COLUMN} DESC")
    order = f"ORDER BY {', '.join(newest)}" if newest else ""
    page = [PAGE_COLUMN] if paged else []
    # What _accepted keeps of each accepted row: its position, its key, its page (for its children).
    accepted_columns = [ROW_COLUMN, *table.key, *page]
    ranked = ", ".join([*accepted_columns, *([table.version] if table.version else [])])
    drop = f" EXCLUDE ({', '.join([ROW_COLUMN, *page])})"
    # An incoming row older than the stored one is dropped here (anti join), so _accepted names
    # exactly the rows that get written.
    stale = (
        f" ANTI JOIN {table.name} AS t ON {_key_match('t', 'i', table.key)} AND t.{table.version} > i.{table.version}"
        if table.version
        else ""
    )
    numbered = rows.append_column(ROW_COLUMN, pa.array(range(rows.num_rows), type=pa.int64()))
    with _registered(con, "_incoming_rows", numbered):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _accepted AS SELECT {', '.join(f'i.{c}' for c in accepted_columns)} "
            f"FROM (SELECT {ranked} FROM _incoming_rows "
            f"QUALIFY row_number() OVER (PARTITION BY {key} {order}) = 1) AS i{stale}"
        )
        [(replaced,)] = con.execute(
            f"DELETE FROM {table.name} AS t USING _accepted WHERE {_key_match('t', '_accepted', table.key)}"
        ).fetchall()
        [(accepted,)] = con.execute(
            f"INSERT INTO {table.name} BY NAME SELECT r.*{drop} FROM _incoming_rows AS r "
            f"SEMI JOIN _accepted AS a ON r.{ROW_COLUMN} = a.{ROW_COLUMN}"
        ).fetchall()
    parent_key = table.key[0]
    for child, child_rows in children:
        if replaced:  # children are only ever written with their parent: new parents have none yet
            con.execute(f"DELETE FROM {child.name} WHERE {child.parent} IN (SELECT {parent_key} FROM _accepted)")
        if child_rows.num_rows == 0:
            continue
        same_page = f" AND c.{PAGE_COLUMN} = a.{PAGE_COLUMN}" if paged else ""
        child_drop = f" EXCLUDE ({PAGE_COLUMN})" if paged else ""
        with _registered(con, "_child_rows", child_rows):
            con.execute(
                f"INSERT INTO {child.name} BY NAME SELECT c.*{child_drop} FROM _child_rows AS c "
                f"SEMI JOIN _accepted AS a ON c.{child.parent} = a.{parent_key}{same_page}"
            )
    con.execute("DROP TABLE _accepted")
    return int(accepted)
