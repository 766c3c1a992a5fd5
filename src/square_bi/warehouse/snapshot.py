"""Serving snapshots: how several processes share one warehouse without lock errors.

DuckDB lets one read-write process *or* many read-only ones hold a file, never both. So the file a
sync writes (``shop.duckdb``: staging, checkpoints, star schema) is never read by the servers.
After each sync the star schema and the operational tables are copied into a new file beside it,
which then atomically replaces ``shop.serving.duckdb``. Every reader (MCP servers, ``query``,
``status``) opens the serving file read-only, for one call at a time: a reader never waits for a
sync, never sees half of one, and can never write.

One sync at a time per warehouse is guaranteed by an advisory lock on ``shop.duckdb.lock``.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from square_bi.errors import WarehouseError
from square_bi.extract.records import utc_now

OPERATIONAL_TABLES = ("sync_checkpoints", "sync_runs", "dead_letters")


def serving_path(db: Path) -> Path:
    """``shop.duckdb`` -> ``shop.serving.duckdb``."""
    return db.with_name(f"{db.stem}.serving{db.suffix or '.duckdb'}")


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


class SyncAlreadyRunning(WarehouseError):
    """Another process is syncing this warehouse right now."""


@contextmanager
def sync_lock(db: Path) -> Iterator[None]:
    """Hold the warehouse's sync lock for the block, or raise SyncAlreadyRunning at once."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncAlreadyRunning(
                f"Another process is syncing {db} right now; its results will be served when it finishes."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def publish_snapshot(con: duckdb.DuckDBPyConnection, db: Path, tables: tuple[str, ...]) -> Path:
    """Copy ``tables`` (plus the operational tables) into a fresh file and swap it in atomically."""
    target = serving_path(db)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con.execute("ATTACH ? AS snapshot", [str(temporary)])
    try:
        for table in (*tables, *OPERATIONAL_TABLES):
            con.execute(f"CREATE TABLE snapshot.{table} AS SELECT * FROM main.{table}")
        con.execute("CREATE TABLE snapshot.snapshot_info AS SELECT ? AS published_at", [utc_now()])
        con.execute("CHECKPOINT snapshot")
    finally:
        con.execute("DETACH snapshot")
    os.replace(temporary, target)
    return target


def open_snapshot(db: Path) -> duckdb.DuckDBPyConnection:
    """The latest serving snapshot of ``db``, read-only (a connection that cannot write)."""
    path = serving_path(db)
    if not path.exists():
        raise WarehouseError(
            f"No synced warehouse at {db}: run `square-bi sync --db {db}` (or `square-bi demo`) first."
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise WarehouseError(f"Could not open {path}: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    return con
