"""Sync progress on stderr: live bars with rows/s per stream on a terminal, nothing extra otherwise
(the per-stream summary line is logged at INFO with -v)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn

from square_bi.extract.state import StreamStats


@contextmanager
def sync_progress() -> Iterator[Callable[[StreamStats], None] | None]:
    """A progress callback for sync_warehouse, drawing on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(
        TextColumn("{task.description:<13}"),
        TextColumn("{task.fields[rows]:>9,} rows"),
        TextColumn("{task.fields[pages]:>6,} pages"),
        TextColumn("{task.fields[rate]:>8,.0f} rows/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {}
        started: dict[str, float] = {}

        def update(stats: StreamStats) -> None:
            if stats.stream not in tasks:
                tasks[stats.stream] = progress.add_task(stats.stream, total=None, rows=0, pages=0, rate=0.0)
                started[stats.stream] = time.perf_counter()
            elapsed = max(time.perf_counter() - started[stats.stream], 1e-3)
            progress.update(tasks[stats.stream], rows=stats.rows, pages=stats.pages, rate=stats.rows / elapsed)

        yield update
