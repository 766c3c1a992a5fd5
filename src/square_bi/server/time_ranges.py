"""Relative dates resolved on the server, in the merchant's local calendar, and said back.

Business dates are local dates of each location; "today" is today's date in the merchant's time
zone: the time zone most of its active locations share (ties: alphabetical). Weeks start on Monday.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from square_bi.errors import SemanticError, did_you_mean

TimeRangeName = Literal[
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "last_7_days",
    "last_30_days",
    "year_to_date",
]
TIME_RANGES: tuple[str, ...] = get_args(TimeRangeName)
DESCRIPTIONS = {
    "today": "today so far",
    "yesterday": "yesterday",
    "this_week": "Monday of this week to today",
    "last_week": "the previous Monday to Sunday",
    "this_month": "the 1st of this month to today",
    "last_month": "the whole previous month",
    "last_7_days": "the 7 days ending today (today included)",
    "last_30_days": "the 30 days ending today (today included)",
    "year_to_date": "January 1st to today",
}


def resolve_time_range(name: str, today: date) -> tuple[date, date]:
    """The inclusive (start, end) business dates of a named range."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in TIME_RANGES:
        raise SemanticError(did_you_mean(name, TIME_RANGES, kind="time_range"))
    monday = today - timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    if key == "today":
        return today, today
    if key == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if key == "this_week":
        return monday, today
    if key == "last_week":
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if key == "this_month":
        return first_of_month, today
    if key == "last_month":
        last_day = first_of_month - timedelta(days=1)
        return last_day.replace(day=1), last_day
    if key == "last_7_days":
        return today - timedelta(days=6), today
    if key == "last_30_days":
        return today - timedelta(days=29), today
    return today.replace(month=1, day=1), today


def merchant_timezone(con: duckdb.DuckDBPyConnection) -> str:
    """The time zone most active locations share (UTC when there are none)."""
    try:
        rows = con.execute(
            "SELECT timezone FROM dim_location WHERE timezone IS NOT NULL AND coalesce(status, 'ACTIVE') = 'ACTIVE'"
        ).fetchall()
    except duckdb.Error:
        return "UTC"
    counts = Counter(row[0] for row in rows)
    if not counts:
        return "UTC"
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def local_today(timezone: str, now: datetime | None = None) -> date:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or datetime.now(UTC)).astimezone(zone).date()
