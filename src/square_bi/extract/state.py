"""Incremental state vocabulary: watermark, window, cursor, partition.

A partition's **watermark** is the source of truth: every object of that partition updated at or
before it has been committed. A **window** is the updated-time range one pass asks for
(``window_start`` = watermark minus the lookback, ``window_end`` = the run's start, pinned). The
**cursor** is Square's short-lived page token: a resume hint valid only with its window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from square_bi.extract.records import JsonObject


@dataclass(frozen=True)
class PartitionState:
    watermark: datetime | None = None
    cursor: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    cursor_saved_at: datetime | None = None
    rows_total: int = 0


@dataclass(frozen=True)
class DeadRecord:
    """A record that failed validation: kept with its raw JSON, never silently dropped."""

    record_id: str
    error: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class Page:
    """One validated page of one (stream, partition) and the state that holds once it commits."""

    stream: str
    partition: str
    records: list[Any]
    """The page's valid records: dicts validated as the stream's record schema."""
    raw: list[JsonObject]
    """Square's JSON (parsed, or its text) for each record, in the same order: kept whole (unknown
    fields too) so later models can read what the typed columns do not carry."""
    dead: list[DeadRecord]
    state: PartitionState
    staged: object | None = None
    """The sink's own compact form of ``records`` and ``raw`` (see ``Sink.stage``); once set, those
    two lists are empty."""


@dataclass
class StreamStats:
    stream: str
    partitions: int = 0
    pages: int = 0
    rows: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    dead_letters: int = 0
    cursor_restarts: int = 0
    error: str | None = None
    seconds: float = 0.0
    requested_windows: list[tuple[datetime | None, datetime | None]] = field(default_factory=list)
    earliest_created_at: datetime | None = None
    """The oldest ``created_at`` among the records read (for locations: where history can begin)."""
