"""Fixtures: the repo's semantic layer, and a small in-memory star schema per docs/data-model.md.

The star schema has three USD locations in three time zones, four item variations, 19 sales
orders (30 lines in all) from Monday 2024-02-26 to Sunday 2024-03-24 (four ISO weeks, across the
February/March boundary), two return-only orders and two custom-amount lines with no item.
Hand-computed totals (non-return gross, in cents / distinct orders) the tests rely on:

    all: 18549 / 19
    week of 02-26: 7250 / 7    03-04: 5124 / 5    03-11: 3225 / 4    03-18: 2950 / 3
    February: 3675 / 4         March: 14874 / 15
    Mission Cafe: 9074 / 9     Brooklyn Bakery: 7475 / 7    Honolulu Kiosk: 2000 / 3
    Coffee: 10750 / 14         Pastry: 4500 / 8    Tea: 300 / 1    no item: 2999 / 2
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from square_bi.semantic import SemanticLayer, default_semantic_dir, load_semantic_layer

DDL = """
CREATE TABLE dim_location (
    location_id VARCHAR PRIMARY KEY, name VARCHAR, timezone VARCHAR, currency VARCHAR,
    status VARCHAR, city VARCHAR
);
CREATE TABLE dim_item (
    item_variation_id VARCHAR PRIMARY KEY, item_id VARCHAR, item_name VARCHAR,
    variation_name VARCHAR, category_name VARCHAR, price_amount BIGINT, is_deleted BOOLEAN
);
CREATE TABLE dim_date (
    date_day DATE PRIMARY KEY, year INTEGER, quarter INTEGER, month INTEGER, iso_year INTEGER,
    iso_week INTEGER, day_of_month INTEGER, day_of_week INTEGER, day_name VARCHAR,
    is_weekend BOOLEAN, week_start DATE, month_start DATE
);
CREATE TABLE fct_order_line_item (
    line_item_id VARCHAR PRIMARY KEY, order_id VARCHAR, line_item_uid VARCHAR,
    location_id VARCHAR, item_variation_id VARCHAR, customer_id VARCHAR, business_date DATE,
    business_hour INTEGER, closed_at TIMESTAMP, order_state VARCHAR, order_source VARCHAR,
    item_type VARCHAR, is_return BOOLEAN, returned_line_item_id VARCHAR, quantity DECIMAL(18,5),
    gross_sales_amount BIGINT, modifiers_amount BIGINT, discount_amount BIGINT, tax_amount BIGINT,
    additive_tax_amount BIGINT, inclusive_tax_amount BIGINT, net_sales_amount BIGINT,
    total_amount BIGINT, currency VARCHAR
);
CREATE TABLE fct_order (
    order_id VARCHAR PRIMARY KEY, location_id VARCHAR, customer_id VARCHAR, order_state VARCHAR,
    order_source VARCHAR, created_at TIMESTAMP, closed_at TIMESTAMP, business_date DATE,
    business_hour INTEGER, currency VARCHAR, total_amount BIGINT, tax_amount BIGINT,
    discount_amount BIGINT, tip_amount BIGINT, service_charge_amount BIGINT,
    sales_line_count BIGINT, return_line_count BIGINT, has_sales_line BOOLEAN, tender_count BIGINT,
    card_amount BIGINT, cash_amount BIGINT, other_tender_amount BIGINT, processing_fee_amount BIGINT
);
"""

Location = tuple[str, str, str, str, str, str]
"""(location_id, name, IANA time zone, ISO currency, status, city)"""

LOCATIONS: list[Location] = [
    ("L1", "Mission Cafe", "America/Los_Angeles", "USD", "ACTIVE", "San Francisco"),
    ("L2", "Brooklyn Bakery", "America/New_York", "USD", "ACTIVE", "New York"),
    ("L3", "Honolulu Kiosk", "Pacific/Honolulu", "USD", "INACTIVE", "Honolulu"),
]

ITEMS = [
    ("V1", "I1", "Latte", "Large", "Coffee", 550, False),
    ("V2", "I1", "Latte", "Small", "Coffee", 450, False),
    ("V3", "I2", "Croissant", "Regular", "Pastry", 375, False),
    ("V4", "I3", "Green tea", "Regular", "Tea", 300, True),
]

Line = tuple[str, str | None, int, int, int]
"""(uid, item_variation_id or None for a custom amount, quantity, gross cents, discount cents)"""
Order = tuple[str, str, str, int, list[Line], bool]
"""(order_id, location_id, business date, local hour, lines, is_return)"""

ORDERS: list[Order] = [
    # ISO week of Monday 2024-02-26 (Feb 26-29 and Mar 1-3)
    ("O1", "L1", "2024-02-26", 8, [("a", "V1", 1, 550, 0), ("b", "V3", 1, 375, 0)], False),
    ("O2", "L1", "2024-02-27", 9, [("a", "V2", 1, 450, 0)], False),
    ("O3", "L2", "2024-02-28", 7, [("a", "V3", 2, 750, 0), ("b", "V1", 1, 550, 0)], False),
    # 22:00 in Honolulu is 08:00 UTC on March 1: its business date is still February 29.
    ("O4", "L3", "2024-02-29", 22, [("a", None, 1, 1000, 0)], False),
    ("O5", "L1", "2024-03-01", 12, [("a", "V1", 3, 1650, 165)], False),
    ("O6", "L2", "2024-03-02", 10, [("a", "V2", 1, 450, 0), ("b", "V3", 1, 375, 0)], False),
    ("O7", "L2", "2024-03-03", 16, [("a", "V1", 2, 1100, 0)], False),
    # week of 2024-03-04
    ("O8", "L1", "2024-03-04", 8, [("a", "V1", 1, 550, 0), ("b", "V2", 1, 450, 0)], False),
    ("O9", "L1", "2024-03-05", 8, [("a", "V3", 1, 375, 0)], False),
    ("O10", "L2", "2024-03-06", 9, [("a", "V1", 1, 550, 0), ("b", "V3", 2, 750, 0)], False),
    ("O11", "L3", "2024-03-07", 23, [("a", "V2", 1, 450, 0)], False),
    ("O12", "L1", "2024-03-08", 14, [("a", None, 1, 1999, 0)], False),
    ("R1", "L1", "2024-03-09", 10, [("a", "V1", -1, -550, 0)], True),
    # week of 2024-03-11
    ("O14", "L1", "2024-03-11", 7, [("a", "V1", 1, 550, 0), ("b", "V1", 1, 550, 0)], False),
    ("O15", "L2", "2024-03-13", 11, [("a", "V2", 2, 900, 0), ("b", "V3", 1, 375, 0)], False),
    ("O16", "L2", "2024-03-15", 15, [("a", "V4", 1, 300, 0)], False),
    ("O17", "L3", "2024-03-16", 20, [("a", "V1", 1, 550, 0)], False),
    # week of 2024-03-18
    ("O18", "L1", "2024-03-18", 9, [("a", "V3", 3, 1125, 0)], False),
    (
        "O19",
        "L2",
        "2024-03-20",
        8,
        [("a", "V1", 1, 550, 50), ("b", "V2", 1, 450, 0), ("c", "V3", 1, 375, 0)],
        False,
    ),
    ("R2", "L3", "2024-03-22", 12, [("a", "V3", -1, -375, 0)], True),
    ("O20", "L1", "2024-03-24", 17, [("a", "V2", 1, 450, 0)], False),
]


def _date_rows(first: dt.date, last: dt.date) -> list[tuple[object, ...]]:
    rows = []
    day = first
    while day <= last:
        iso = day.isocalendar()
        rows.append(
            (
                day,
                day.year,
                (day.month - 1) // 3 + 1,
                day.month,
                iso.year,
                iso.week,
                day.day,
                iso.weekday,
                day.strftime("%A"),
                iso.weekday >= 6,
                day - dt.timedelta(days=iso.weekday - 1),
                day.replace(day=1),
            )
        )
        day += dt.timedelta(days=1)
    return rows


def customer_of(index: int) -> str | None:
    """Every fourth order is anonymous; the others cycle through three customers."""
    return None if index % 4 == 3 else f"C{index % 4 + 1}"


def source_of(index: int) -> str:
    return "Online" if index % 3 == 0 else "POS"


def tip_of(index: int) -> int:
    return 25 * (index % 3)


def fact_rows(orders: list[Order], locations: list[Location]) -> list[tuple[object, ...]]:
    """Fact rows of ``orders``; each line in its location's time zone and currency.

    Per line: tax is 10% of gross (floored), a third of it inclusive; modifiers 50 on lines of
    more than 500. Return rows are already negated in ``orders``.
    """
    timezones = {location[0]: location[2] for location in locations}
    currencies = {location[0]: location[3] for location in locations}
    rows = []
    for index, (order_id, location_id, business_date, hour, lines, is_return) in enumerate(orders):
        day = dt.date.fromisoformat(business_date)
        local = dt.datetime.combine(day, dt.time(hour, 15), tzinfo=ZoneInfo(timezones[location_id]))
        closed_at = local.astimezone(dt.UTC).replace(tzinfo=None)
        for uid, variation, quantity, gross, discount in lines:
            tax = gross // 10
            inclusive = tax // 3
            modifiers = 50 if abs(gross) > 500 else 0
            rows.append(
                (
                    f"{order_id}:{uid}",
                    order_id,
                    uid,
                    location_id,
                    variation,
                    customer_of(index),
                    day,
                    hour,
                    closed_at,
                    "COMPLETED",
                    source_of(index),
                    "ITEM" if variation else "CUSTOM_AMOUNT",
                    is_return,
                    None,
                    Decimal(quantity),
                    gross,
                    modifiers if gross >= 0 else -modifiers,
                    discount,
                    tax,
                    tax - inclusive,
                    inclusive,
                    gross - discount,
                    gross - discount + tax,
                    currencies[location_id],
                )
            )
    return rows


def order_rows(orders: list[Order], locations: list[Location]) -> list[tuple[object, ...]]:
    """fct_order rows: the COMPLETED orders of ``orders`` plus, per location, an OPEN and a
    CANCELED order carrying tips and fees that no metric may count."""
    currencies = {location[0]: location[3] for location in locations}
    lines = {row[1]: [] for row in fact_rows(orders, locations)}
    for row in fact_rows(orders, locations):
        lines[str(row[1])].append(row)
    rows: list[tuple[object, ...]] = []
    for index, (order_id, location_id, business_date, hour, _, is_return) in enumerate(orders):
        own = lines[order_id]
        total = sum(int(str(r[22])) for r in own)
        tip = 0 if is_return else tip_of(index)
        card = index % 2 == 0
        rows.append(
            (
                order_id,
                location_id,
                customer_of(index),
                "COMPLETED",
                source_of(index),
                None,
                None,
                dt.date.fromisoformat(business_date),
                hour,
                currencies[location_id],
                total + tip,
                sum(int(str(r[18])) for r in own),
                sum(int(str(r[17])) for r in own),
                tip,
                0,
                0 if is_return else len(own),
                len(own) if is_return else 0,
                not is_return,
                1,
                total + tip if card else 0,
                0 if card else total + tip,
                0,
                30 if card and not is_return else 0,
            )
        )
    for location_id, _, _, currency, _, _ in locations:
        for state in ("OPEN", "CANCELED"):
            rows.append(
                (
                    f"{state}-{location_id}",
                    location_id,
                    "C1",
                    state,
                    "POS",
                    None,
                    None,
                    dt.date(2024, 3, 5),
                    9,
                    currency,
                    999,
                    0,
                    0,
                    500,
                    0,
                    0,
                    0,
                    False,
                    1,
                    999,
                    0,
                    0,
                    77,
                )
            )
    return rows


def build_star_schema(
    connection: duckdb.DuckDBPyConnection, locations: list[Location] = LOCATIONS, orders: list[Order] = ORDERS
) -> duckdb.DuckDBPyConnection:
    connection.execute(DDL)
    connection.executemany("INSERT INTO dim_location VALUES (?, ?, ?, ?, ?, ?)", locations)
    connection.executemany("INSERT INTO dim_item VALUES (?, ?, ?, ?, ?, ?, ?)", ITEMS)
    dates = _date_rows(dt.date(2024, 2, 1), dt.date(2024, 3, 31))
    connection.executemany("INSERT INTO dim_date VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", dates)
    connection.executemany(
        f"INSERT INTO fct_order_line_item VALUES ({', '.join('?' * 24)})", fact_rows(orders, locations)
    )
    connection.executemany(f"INSERT INTO fct_order VALUES ({', '.join('?' * 23)})", order_rows(orders, locations))
    return connection


@pytest.fixture(scope="session")
def semantic_layer() -> SemanticLayer:
    return load_semantic_layer(default_semantic_dir())


@pytest.fixture(scope="session")
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """The shared star schema; tests must not write to it (use ``fresh_warehouse`` for that)."""
    connection = build_star_schema(duckdb.connect(":memory:"))
    yield connection
    connection.close()


@pytest.fixture
def fresh_warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """A private copy of the star schema a test may change."""
    connection = build_star_schema(duckdb.connect(":memory:"))
    yield connection
    connection.close()


# -- a merchant selling in several currencies -------------------------------------------------
#
# Mission Cafe sells in USD (cents), Shoreditch in GBP (pence), Shibuya in JPY (yen, no minor
# unit). Two ISO weeks; in the week of 2024-03-04 both Mission Cafe and Shoreditch sell, so that
# week alone mixes dollars and pounds. Hand-computed (non-return gross in minor units / orders):
#
#     Mission Cafe (USD): 2475 / 3     week 03-04: 1375 / 2    week 03-11: 1100 / 1
#     Shoreditch (GBP):   1500 / 2     week 03-04:  420 / 1    week 03-11: 1080 / 1 (a return too)
#     Shibuya (JPY):      2330 / 2     week 03-04:  650 / 1    week 03-11: 1680 / 1
#     all weeks, USD and GBP only: week 03-04: 3 orders, week 03-11: 2 orders

MULTI_CURRENCY_LOCATIONS: list[Location] = [
    ("L1", "Mission Cafe", "America/Los_Angeles", "USD", "ACTIVE", "San Francisco"),
    ("L5", "Shoreditch", "Europe/London", "GBP", "ACTIVE", "London"),
    ("L6", "Shibuya", "Asia/Tokyo", "JPY", "ACTIVE", "Tokyo"),
]

USD_GBP_ORDERS: list[Order] = [
    ("M1", "L1", "2024-03-04", 9, [("a", "V1", 1, 550, 0), ("b", "V3", 1, 375, 0)], False),
    ("M2", "L1", "2024-03-06", 14, [("a", "V2", 1, 450, 0)], False),
    ("M3", "L1", "2024-03-12", 8, [("a", "V1", 2, 1100, 0)], False),
    ("S1", "L5", "2024-03-05", 10, [("a", "V1", 1, 420, 0)], False),
    ("S2", "L5", "2024-03-13", 16, [("a", "V3", 2, 700, 0), ("b", "V2", 1, 380, 0)], False),
    ("SR", "L5", "2024-03-14", 11, [("a", "V3", -1, -350, 0)], True),
]

JPY_ORDERS: list[Order] = [
    ("J1", "L6", "2024-03-05", 12, [("a", "V1", 1, 650, 0)], False),
    ("J2", "L6", "2024-03-12", 19, [("a", "V3", 1, 480, 0), ("b", "V1", 2, 1200, 0)], False),
]


@pytest.fixture(scope="session")
def usd_gbp_warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """Mission Cafe in USD and Shoreditch in GBP (read-only for tests)."""
    connection = build_star_schema(duckdb.connect(":memory:"), MULTI_CURRENCY_LOCATIONS[:2], USD_GBP_ORDERS)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def usd_gbp_jpy_warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """The USD and GBP shops plus Shibuya in JPY (read-only for tests)."""
    connection = build_star_schema(duckdb.connect(":memory:"), MULTI_CURRENCY_LOCATIONS, USD_GBP_ORDERS + JPY_ORDERS)
    yield connection
    connection.close()


@pytest.fixture
def semantic_copy(tmp_path: Path) -> Path:
    """A writable copy of the repo's semantic/ folder."""
    return Path(shutil.copytree(default_semantic_dir(), tmp_path / "semantic"))


@pytest.fixture
def break_yaml(semantic_copy: Path) -> Callable[[str, str, str], int]:
    """Replace ``old`` by ``new`` once in a file of the copy; return the 1-based line of ``new``."""

    def edit(file_name: str, old: str, new: str) -> int:
        path = semantic_copy / file_name
        text = path.read_text()
        assert old in text, f"{old!r} not in {file_name}"
        text = text.replace(old, new, 1)
        path.write_text(text)
        return text[: text.index(new)].count("\n") + 1

    return edit
