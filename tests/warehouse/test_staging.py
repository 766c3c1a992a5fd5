"""Staging tables carry no PRIMARY KEY index (DuckDB keeps one whole in memory); the upsert keeps
their keys unique, and a warehouse made by an older version loses its indexes but not its rows."""

from __future__ import annotations

from pathlib import Path

import duckdb

from square_bi.warehouse.staging import ORDER_LINE_ITEMS, ORDERS, STAGING_TABLES, create_staging_tables


def _primary_keys(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    }


def test_new_staging_tables_have_no_primary_key_index(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "new.duckdb")) as con:
        create_staging_tables(con)
        assert _primary_keys(con) == set()
        assert {t.name for t in STAGING_TABLES} <= {n for (n,) in con.execute("SHOW TABLES").fetchall()}


def test_a_table_an_older_version_keyed_is_rebuilt_without_the_key_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        for table in (ORDERS, ORDER_LINE_ITEMS):
            con.execute(table.ddl().replace("\n)", f",\n  PRIMARY KEY ({', '.join(table.key)})\n)"))
        con.execute("INSERT INTO stg_orders (id, location_id, version, total_amount) VALUES ('O1', 'L1', 3, 1250)")
        lines = "('O1', 'a', 1.5), ('O1', 'b', 2)"
        con.execute(f"INSERT INTO stg_order_line_items (order_id, uid, quantity) VALUES {lines}")
        assert _primary_keys(con) == {"stg_orders", "stg_order_line_items"}

        create_staging_tables(con)
        create_staging_tables(con)  # and again: nothing left to rebuild

        assert _primary_keys(con) == set()
        assert con.execute("SELECT id, location_id, version, total_amount FROM stg_orders").fetchall() == [
            ("O1", "L1", 3, 1250)
        ]
        stored = con.execute("SELECT order_id, uid, quantity::VARCHAR FROM stg_order_line_items ORDER BY uid")
        assert stored.fetchall() == [("O1", "a", "1.50000"), ("O1", "b", "2.00000")]
        leftovers = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%primary_key%'")
        assert leftovers.fetchall() == []
        # The columns keep their types and NOT NULL.
        columns = con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'stg_order_line_items' AND column_name IN ('uid', 'quantity') ORDER BY 1"
        ).fetchall()
        assert columns == [("quantity", "DECIMAL(18,5)", "YES"), ("uid", "VARCHAR", "NO")]


def test_a_keyed_table_in_another_attached_database_is_left_alone(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "new.duckdb")) as con:
        con.execute("ATTACH ? AS other", [str(tmp_path / "other.duckdb")])
        con.execute("CREATE TABLE other.stg_orders (id VARCHAR PRIMARY KEY)")

        create_staging_tables(con)

        keyed = con.execute(
            "SELECT database_name, table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
        assert keyed == [("other", "stg_orders")]
        assert {t.name for t in STAGING_TABLES} <= {n for (n,) in con.execute("SHOW TABLES").fetchall()}
