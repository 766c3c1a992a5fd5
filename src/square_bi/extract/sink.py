"""Where pages go: a protocol the warehouse implements, so extraction never imports it."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from square_bi.extract.state import Page, PartitionState, StreamStats


class Sink(Protocol):
    async def get_states(self, stream: str) -> dict[str, PartitionState]:
        """The committed state of each of a stream's partitions, by partition key."""
        ...

    def stage(self, page: Page) -> Page:
        """The same page in the sink's compact form (e.g. columns instead of models and JSON dicts).

        Called as soon as a page is validated, before it is submitted, so a page waiting for the
        writer costs megabytes, not tens of megabytes of Python objects."""
        ...

    def submit(self, page: Page, after: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        """Queue a page to be written, its rows, dead letters and new state in ONE transaction; the
        future is settled once that transaction committed or failed. Pages are written in the order
        submitted. ``after``, the future of the partition's previous page: if it failed, this page
        must fail too, never committing a state past the missing rows."""
        ...

    def commit_soon(self) -> None:
        """A caller waits, or soon will, for a submitted page: write what is queued now, without
        waiting for more pages to write with it."""
        ...

    async def record_run(self, run_id: str, started_at: datetime, stats: StreamStats) -> None:
        """Store one stream's statistics for a run."""
        ...
