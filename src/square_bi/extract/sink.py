"""Where pages go: a protocol the warehouse implements, so extraction never imports it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from square_bi.extract.state import Page, PartitionState, StreamStats


class Sink(Protocol):
    async def get_state(self, stream: str, partition: str) -> PartitionState | None:
        """The committed state of a partition, or None if it never synced."""
        ...

    async def commit(self, page: Page) -> None:
        """Write a page's rows, dead letters and new state in ONE transaction."""
        ...

    async def record_run(self, run_id: str, started_at: datetime, stats: StreamStats) -> None:
        """Store one stream's statistics for a run."""
        ...
