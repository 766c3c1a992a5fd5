"""Opening the warehouse file: its row groups, where it spills, and the errors a user sees."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from square_bi.errors import WarehouseError
from square_bi.warehouse.database import ROW_GROUP_SIZE, connect


def _row_groups(con: duckdb.DuckDBPyConnection, table: str) -> int:
    [(count,)] = con.execute(f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('{table}')").fetchall()
    return int(count)


def test_the_warehouse_stores_tables_in_row_groups_of_row_group_size(tmp_path: Path) -> None:
    rows = 2 * ROW_GROUP_SIZE + 100
    con = connect(tmp_path / "w.duckdb")
    con.execute("CREATE TABLE t (i BIGINT, s VARCHAR)")
    con.execute(f"INSERT INTO t SELECT range, 'row ' || range FROM range({rows})")
    con.execute("CHECKPOINT")
    assert _row_groups(con, "t") == 3
    con.close()


def test_a_warehouse_file_reads_and_writes_with_plain_duckdb(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    con = connect(db)
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(10)")
    con.close()
    with duckdb.connect(str(db)) as plain:
        plain.execute("INSERT INTO t VALUES (10)")
        assert plain.execute("SELECT count(*), sum(i) FROM t").fetchall() == [(11, 55)]
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(11,)]
    con.close()


def test_the_warehouse_spills_beside_its_file(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    con = connect(db)
    assert con.execute("SELECT current_setting('temp_directory')").fetchall() == [(f"{db}.tmp",)]
    con.close()


def test_a_warehouse_another_process_writes_to_gives_an_error_that_says_so(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, duckdb
            con = duckdb.connect({str(db)!r})
            print("open", flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        with pytest.raises(WarehouseError, match="open for writing in another process"):
            connect(db)
    finally:
        holder.communicate("", timeout=30)


def test_a_read_only_warehouse_that_does_not_exist_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="square-bi sync --db"):
        connect(tmp_path / "missing.duckdb", read_only=True)
