"""Operational tables (checkpoints, sync runs, dead letters), declared once with SQLModel.

SQLModel gives the typed row classes; SQLAlchemy compiles their DDL, which DuckDB executes. These
tables are small and written a row at a time; the bulk path for Square data is Arrow (``load.py``).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
from sqlalchemy import Column, DateTime, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable
from sqlmodel import Field, SQLModel


class Checkpoint(SQLModel, table=True):
    """Progress of one (stream, partition).

    ``watermark`` is the source of truth: every object with an updated time at or before it has been
    committed. ``cursor`` is a short-lived resume hint for a run in progress, valid only with the
    window it was issued for (``window_start``..``window_end``).
    """

    __tablename__ = "sync_checkpoints"

    stream: str = Field(primary_key=True)
    partition: str = Field(primary_key=True, default="")
    watermark: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    cursor: str | None = Field(default=None, sa_column=Column(Text))
    window_start: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    window_end: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    cursor_saved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    rows_total: int = 0


class SyncRun(SQLModel, table=True):
    """One stream's part of one sync run."""

    __tablename__ = "sync_runs"

    run_id: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=False)))
    status: str = "running"
    pages: int = 0
    rows: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    dead_letters: int = 0
    cursor_restarts: int = 0
    seconds: float = 0.0
    error: str | None = Field(default=None, sa_column=Column(Text))


class DeadLetter(SQLModel, table=True):
    """A record that failed validation, kept with its raw JSON so nothing is silently lost."""

    __tablename__ = "dead_letters"

    stream: str = Field(primary_key=True)
    record_id: str = Field(primary_key=True)
    error: str = Field(sa_column=Column(Text, nullable=False))
    raw_json: str = Field(sa_column=Column(Text, nullable=False))
    first_seen_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))


OPERATIONAL_MODELS: tuple[type[SQLModel], ...] = (Checkpoint, SyncRun, DeadLetter)


def operational_ddl() -> list[str]:
    """CREATE TABLE IF NOT EXISTS statements for every operational table."""
    dialect = postgresql.dialect()
    return [
        str(CreateTable(model.__table__, if_not_exists=True).compile(dialect=dialect))  # type: ignore[attr-defined]
        for model in OPERATIONAL_MODELS
    ]


def create_operational_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in operational_ddl():
        con.execute(ddl)
