"""The DuckDB file: opening it, transactions, and the one writer thread.

Invariants (see docs): one read-write connection per process; every write goes through
:class:`Warehouse` on a single dedicated thread, so the asyncio loop never blocks on DuckDB and
writes never interleave; a page's rows and its checkpoint commit in one transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from square_bi.errors import WarehouseError

T = TypeVar("T")

MEMORY_LIMIT = "256MB"
"""DuckDB's memory for queries such as the star schema's build (at 1M line items it needs most of it)."""

PAGE_WRITING_MEMORY_LIMIT = "192MB"
"""DuckDB's memory while a sync upserts pages. What it holds then is mostly rows appended since the
last checkpoint, which it would keep up to any limit: 128 MB instead of 256 MB once lowered a
backfill's peak RSS by some 100 MB (138k orders, 255k line items: about 480 MB instead of 590 MB).

Near the limit, though, DuckDB returns freed memory to the system after its allocations (glibc's
``malloc_trim``, over every thread's heap), and the pages given back fault in again for the next
page. A 141k-order backfill in 100-order pages made some 34,000 ``madvise`` calls at 128 MB and
12,600 at 192 MB, and took 13.8-14.7 instead of 14.5-15.0 s (alternating runs), with about 1 CPU-s
less system time. The peak RSS, which the star schema's build sets, stayed where it was (551k
orders in 1,000-order pages: 479-480 MB either way).

4,096-row row groups (``ROW_GROUP_SIZE``) saved a little more (more groups of pages reach a row
group's worth and skip the write-ahead log) but raised that peak to 497-499 MB. Without primary-key
indexes (``staging``) nothing else needs to stay in memory."""


ROW_GROUP_SIZE = 8192
"""Rows per row group in the warehouse file (DuckDB's default is 122,880). At each checkpoint DuckDB
rewrites, and compresses again, the whole row group that pages were appended to since the last one;
with the default, a backfill compressed its first 122,880 orders' JSON over and over. With 8,192 a
138k-order backfill took 13.6 instead of 19.3 s and 18 instead of 24 CPU-s, for a file about a fifth
larger (the serving snapshot is written with DuckDB's default)."""

ALIAS = "warehouse"
"""The name the warehouse file is attached under in its read-write connection."""


def _open(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    # ATTACH, not connect(path): only ATTACH takes a row group size.
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH ? AS {ALIAS} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})", [str(path)])
        con.execute(f"USE {ALIAS}")
        # Spill files beside the warehouse, as for a file opened directly (not in the working directory).
        con.execute("SET temp_directory = ?", [f"{path}.tmp"])
    except BaseException:
        con.close()
        raise
    return con


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, turning DuckDB's errors into an actionable WarehouseError."""
    if read_only and not path.exists():
        raise WarehouseError(f"No warehouse at {path}: run `square-bi sync --db {path}` (or `square-bi demo`) first.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = _open(path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseError(
                f"{path} is open for writing in another process; wait for it to finish or stop it."
            ) from exc
        raise WarehouseError(f"Could not open {path}: {exc}") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"Could not open {path}: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB would cache up to 80% of RAM; beyond this it spills to disk instead of growing the
    # process (a sync lowers it further while it writes pages: ``writing_pages``).
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    # Lets DuckDB stream and spill big CREATE TABLE AS / INSERT ... SELECT in any order: at 1M line
    # items the star schema build ran out of those 256 MB without it. Every query that needs an
    # order says ORDER BY.
    con.execute("SET preserve_insertion_order = false")
    return con


def writing_pages(con: duckdb.DuckDBPyConnection) -> None:
    """Tune the connection for many small page upserts: DuckDB runs them on the calling (writer)
    thread alone. Each upsert is a dozen small statements; handing each to a second DuckDB thread
    and waiting for it cost more than it saved (page 100: 12.8 instead of 13.9 CPU-s for 61k
    orders), and the other core is busy decoding and validating pages anyway.

    Checkpoints stay at DuckDB's default (16 MB of WAL). A 1 GB threshold saved a fifth of a 250k
    backfill's CPU, but at 1M orders the uncheckpointed pages filled the 256 MB buffer pool: the
    star build ran out of memory, or the sync crawled spilling to temp files.

    DuckDB's memory is lowered to ``PAGE_WRITING_MEMORY_LIMIT`` meanwhile."""
    con.execute("SET threads = 1")
    con.execute(f"SET memory_limit = '{PAGE_WRITING_MEMORY_LIMIT}'")


def building_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Back to DuckDB's default threads and ``MEMORY_LIMIT``, for big queries such as the star
    schema's build; first a checkpoint writes what the pages left in the WAL to the file."""
    con.execute("RESET threads")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("CHECKPOINT")


class Warehouse:
    """One read-write DuckDB connection, used from one dedicated writer thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer")
        self._con: duckdb.DuckDBPyConnection | None = None

    def open(self) -> Warehouse:
        self._con = self._executor.submit(connect, self.path).result()
        return self

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise WarehouseError("The warehouse is not open.")
        return self._con

    def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            self._executor.submit(con.close).result()
        self._executor.shutdown(wait=True)

    def __enter__(self) -> Warehouse:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(con)`` on the writer thread and wait for it (for synchronous callers)."""
        return self._executor.submit(fn, self.con).result()

    async def arun(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(con)`` on the writer thread without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self.con)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts (for small operational reads)."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
