"""The webhook inbox: every accepted Square event, de-duplicated on ``event_id``, until its data is in.

It lives in its own small DuckDB file beside the warehouse (``shop.webhooks.duckdb``) and is owned
by the serving process that receives the webhooks, so it never competes with the sync for the
warehouse file ("one writer per DuckDB file"). Every call runs on one dedicated thread, never on
the event loop. A row is *pending* from the moment the 200 is sent (the insert commits before)
until the targeted sync that covers it has committed and published its data, so a restart loses
nothing that was acknowledged, and a repeated delivery (same ``event_id``) is a no-op.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import duckdb

from square_bi.errors import WarehouseError
from square_bi.extract.records import utc_now

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_events (
    event_id VARCHAR PRIMARY KEY,
    event_type VARCHAR NOT NULL,
    object_id VARCHAR,
    merchant_id VARCHAR,
    event_created_at VARCHAR,
    received_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP
)
"""
"""Only what routing needs: the event's body (customer details, payment data) is not kept here;
the targeted sync fetches the objects themselves."""


KEEP_PROCESSED = timedelta(days=7)
"""How long a processed event's id is remembered for de-duplication: Square's retries of a failed
delivery stop well before this, so a later repeat is not expected."""


def inbox_path(db: Path) -> Path:
    """``shop.duckdb`` -> ``shop.webhooks.duckdb``."""
    return db.with_name(f"{db.stem}.webhooks{db.suffix or '.duckdb'}")


@dataclass(frozen=True)
class InboxEvent:
    event_id: str
    event_type: str
    object_id: str | None
    merchant_id: str | None = None
    event_created_at: str | None = None


class WebhookInbox:
    """The inbox file, opened read-write by this process, used from one thread."""

    def __init__(self, db: Path) -> None:
        self.path = inbox_path(db)
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-inbox")
        self._con: duckdb.DuckDBPyConnection | None = None

    def open(self) -> WebhookInbox:
        self._con = self._executor.submit(self._connect).result()
        return self

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseError(
                    f"{self.path} is in use by another square-bi server receiving webhooks; only one process can "
                    "receive them per warehouse (stop the other, or give this one no signature key)."
                ) from exc
            raise WarehouseError(f"Could not open the webhook inbox {self.path}: {exc}") from exc
        con.execute("SET TimeZone = 'UTC'")
        con.execute(SCHEMA)
        return con

    def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            self._executor.submit(con.close).result()
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        con = self._con
        if con is None:
            raise WarehouseError("The webhook inbox is not open.")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, con)

    async def add(self, event: InboxEvent) -> bool:
        """Store ``event`` as pending; False (and nothing changes) when its ``event_id`` is known."""

        def insert(con: duckdb.DuckDBPyConnection) -> bool:
            rows = con.execute(
                "INSERT INTO webhook_events (event_id, event_type, object_id, merchant_id, event_created_at, "
                "received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING event_id",
                [
                    event.event_id,
                    event.event_type,
                    event.object_id,
                    event.merchant_id,
                    event.event_created_at,
                    utc_now(),
                ],
            ).fetchall()
            return bool(rows)

        return await self._run(insert)

    async def pending(self) -> list[InboxEvent]:
        """Events not processed yet, oldest first."""

        def select(con: duckdb.DuckDBPyConnection) -> list[InboxEvent]:
            rows = con.execute(
                "SELECT event_id, event_type, object_id, merchant_id, event_created_at FROM webhook_events "
                "WHERE processed_at IS NULL ORDER BY received_at, event_id"
            ).fetchall()
            return [InboxEvent(*row) for row in rows]

        return await self._run(select)

    async def mark_processed(self, event_ids: list[str], at: datetime | None = None) -> None:
        """Mark events processed (their data is committed and published)."""
        if not event_ids:
            return
        moment = at or utc_now()

        def update(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(
                "UPDATE webhook_events SET processed_at = ? WHERE event_id IN (SELECT unnest(?::VARCHAR[]))",
                [moment, event_ids],
            )

        await self._run(update)

    async def prune(self, older_than: timedelta = KEEP_PROCESSED) -> int:
        """Forget processed events received more than ``older_than`` ago; returns how many."""
        cutoff = utc_now() - older_than

        def delete(con: duckdb.DuckDBPyConnection) -> int:
            rows = con.execute(
                "DELETE FROM webhook_events WHERE processed_at IS NOT NULL AND received_at < ? RETURNING event_id",
                [cutoff],
            ).fetchall()
            return len(rows)

        return await self._run(delete)

    async def counts(self) -> dict[str, int]:
        """``{"pending": n, "processed": m}``."""

        def count(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
            row = con.execute(
                "SELECT count(*) FILTER (WHERE processed_at IS NULL), count(*) FILTER (WHERE processed_at IS NOT NULL) "
                "FROM webhook_events"
            ).fetchone()
            pending, processed = row if row else (0, 0)
            return {"pending": int(pending), "processed": int(processed)}

        return await self._run(count)
