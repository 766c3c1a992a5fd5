"""Payments, refunds, customers and team members: the new metrics against hand-written SQL.

A small star of its own (the shared one in conftest.py has no payments, refunds, customers or
team members): two USD shops and one GBP shop, three ISO weeks (2024-02-26, 03-04, 03-11), eight
sales orders, one return, ten payments (one FAILED, one CANCELED), five refunds (one PENDING).
Hand-computed (minor units) the tests also pin:

    payments_total   USD 5600 (CARD 3760, CASH 1840), GBP 480     card_payments USD 3760, GBP 480
    payment_tips     USD 320, GBP 40                               payment_processing_fees USD 128, GBP 12
    by team member   Ana Lopez 3450, Ben Cho 2150 (USD), Cara Diaz 480 (GBP)
    refunds          USD 1000 (CARD 910, CASH 90), GBP 200: Mission Cafe 750, Brooklyn 250, Shoreditch 200
    customers        C1 first 02-26 (Feb), C2 03-05, C3 03-12, C5 03-13 (Mar), C4 never ordered
    week   unique  new  returning  rate       02-26: 1 1 0 0.0    03-04: 2 1 1 0.5    03-11: 3 2 1 1/3
    month  unique  new  returning  rate       Feb: 1 1 0 0.0      Mar: 4 3 1 0.25

In week 03-11 C1 only returns (not a customer of the week) and C3 orders twice (still new).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from square_bi.semantic import MetricQuery, SemanticLayer, SemanticQueryError, run_query

DDL = """
CREATE TABLE dim_location (
    location_id VARCHAR PRIMARY KEY, name VARCHAR, timezone VARCHAR, currency VARCHAR,
    status VARCHAR, city VARCHAR
);
CREATE TABLE dim_item (
    item_variation_id VARCHAR PRIMARY KEY, item_id VARCHAR, item_name VARCHAR,
    variation_name VARCHAR, category_name VARCHAR, price_amount BIGINT, is_deleted BOOLEAN
);
CREATE TABLE dim_date (date_day DATE PRIMARY KEY);
CREATE TABLE dim_customer (
    customer_id VARCHAR PRIMARY KEY, given_name VARCHAR, family_name VARCHAR, name VARCHAR,
    company_name VARCHAR, creation_source VARCHAR, created_at TIMESTAMP, first_order_date DATE,
    cohort_month DATE, order_count BIGINT
);
CREATE TABLE dim_team_member (
    team_member_id VARCHAR PRIMARY KEY, given_name VARCHAR, family_name VARCHAR, name VARCHAR,
    status VARCHAR, is_owner BOOLEAN
);
CREATE TABLE fct_order_line_item (
    line_item_id VARCHAR PRIMARY KEY, order_id VARCHAR, line_item_uid VARCHAR,
    location_id VARCHAR, item_variation_id VARCHAR, customer_id VARCHAR, team_member_id VARCHAR,
    business_date DATE, business_hour INTEGER, closed_at TIMESTAMP, order_state VARCHAR,
    order_source VARCHAR, item_type VARCHAR, is_return BOOLEAN, returned_line_item_id VARCHAR,
    quantity DECIMAL(18,5), gross_sales_amount BIGINT, modifiers_amount BIGINT, discount_amount BIGINT,
    tax_amount BIGINT, additive_tax_amount BIGINT, inclusive_tax_amount BIGINT, net_sales_amount BIGINT,
    total_amount BIGINT, currency VARCHAR
);
CREATE TABLE fct_order (
    order_id VARCHAR PRIMARY KEY, location_id VARCHAR, customer_id VARCHAR, team_member_id VARCHAR,
    order_state VARCHAR, order_source VARCHAR, created_at TIMESTAMP, closed_at TIMESTAMP,
    business_date DATE, business_hour INTEGER, currency VARCHAR, total_amount BIGINT, tax_amount BIGINT,
    discount_amount BIGINT, tip_amount BIGINT, service_charge_amount BIGINT, sales_line_count BIGINT,
    return_line_count BIGINT, has_sales_line BOOLEAN, tender_count BIGINT, card_amount BIGINT,
    cash_amount BIGINT, other_tender_amount BIGINT, processing_fee_amount BIGINT
);
CREATE TABLE fct_payment (
    payment_id VARCHAR PRIMARY KEY, order_id VARCHAR, location_id VARCHAR, customer_id VARCHAR,
    team_member_id VARCHAR, status VARCHAR, source_type VARCHAR, card_brand VARCHAR,
    created_at TIMESTAMP, business_date DATE, currency VARCHAR, amount BIGINT, tip_amount BIGINT,
    total_amount BIGINT, refunded_amount BIGINT, processing_fee_amount BIGINT
);
CREATE TABLE fct_refund (
    refund_id VARCHAR PRIMARY KEY, payment_id VARCHAR, order_id VARCHAR, location_id VARCHAR,
    team_member_id VARCHAR, status VARCHAR, reason VARCHAR, created_at TIMESTAMP, business_date DATE,
    currency VARCHAR, amount BIGINT, processing_fee_amount BIGINT
);
"""

LOCATIONS = [
    ("L1", "Mission Cafe", "America/Los_Angeles", "USD", "ACTIVE", "San Francisco"),
    ("L2", "Brooklyn Bakery", "America/New_York", "USD", "ACTIVE", "New York"),
    ("L5", "Shoreditch", "Europe/London", "GBP", "ACTIVE", "London"),
]
CURRENCY = {location[0]: location[3] for location in LOCATIONS}
TEAM_MEMBERS = [
    ("T1", "Ana", "Lopez", "Ana Lopez", "ACTIVE", True),
    ("T2", "Ben", "Cho", "Ben Cho", "ACTIVE", False),
    ("T3", "Cara", "Diaz", "Cara Diaz", "INACTIVE", False),
]
# (customer_id, name, creation_source, first_order_date): consistent with the sales lines below.
CUSTOMERS = [
    ("C1", "Ada Byron", "DIRECTORY", "2024-02-26"),
    ("C2", "Bo Diddley", "LOYALTY", "2024-03-05"),
    ("C3", "Cy Young", "LOYALTY", "2024-03-12"),
    ("C4", "Di Prima", "DIRECTORY", None),
    ("C5", "Ed Wood", "ONLINE_STORE", "2024-03-13"),
]
# (order_id, location, customer, team member, business date, source, [(uid, gross cents)]); a
# negative gross is a (negated) return line.
ORDERS = [
    ("O1", "L1", "C1", "T1", "2024-02-26", "POS", [("a", 600), ("b", 400)]),
    ("O2", "L1", None, "T1", "2024-02-28", "POS", [("a", 500)]),
    ("O3", "L2", "C2", "T2", "2024-03-05", "Online", [("a", 800)]),
    ("O4", "L1", "C1", "T1", "2024-03-06", "POS", [("a", 600)]),
    ("O5", "L2", "C3", "T2", "2024-03-12", "POS", [("a", 450), ("b", 250)]),
    ("O6", "L1", "C2", "T1", "2024-03-13", "Online", [("a", 900)]),
    ("O7", "L5", "C5", "T3", "2024-03-13", "POS", [("a", 400)]),
    ("O8", "L2", "C3", "T2", "2024-03-14", "POS", [("a", 300)]),
    ("R1", "L1", "C1", "T1", "2024-03-14", "POS", [("a", -600)]),
]
# (payment_id, order, status, source_type, card_brand, amount, tip, fee); location, customer,
# team member, date and currency are the order's.
PAYMENTS = [
    ("P1", "O1", "COMPLETED", "CARD", "VISA", 1100, 100, 40),
    ("P2", "O2", "COMPLETED", "CASH", None, 550, 0, 0),
    ("P3", "O3", "COMPLETED", "CARD", "MASTERCARD", 880, 120, 33),
    ("P4", "O4", "COMPLETED", "CARD", "VISA", 660, 50, 25),
    ("P4F", "O4", "FAILED", "CARD", "VISA", 660, 50, 25),
    ("P5", "O5", "COMPLETED", "CASH", None, 770, 30, 0),
    ("P6A", "O6", "COMPLETED", "CARD", "AMERICAN_EXPRESS", 500, 0, 18),
    ("P6B", "O6", "COMPLETED", "CASH", None, 490, 0, 0),
    ("P7", "O7", "COMPLETED", "CARD", "VISA", 440, 40, 12),
    ("P8", "O8", "COMPLETED", "CARD", "VISA", 330, 20, 12),
    ("P8C", "O8", "CANCELED", "CARD", "VISA", 999, 0, 9),
]
# (refund_id, payment, return order, location, team member, status, reason, date, amount)
REFUNDS = [
    ("F1", "P4", "R1", "L1", "T1", "COMPLETED", "Returned Goods", "2024-03-14", 660),
    ("F2", "P3", "R2", "L2", "T2", "COMPLETED", "Exchange", "2024-03-15", 250),
    ("F3", "P5", "R3", "L2", "T2", "PENDING", "Returned Goods", "2024-03-16", 300),
    ("F4", "P7", "R4", "L5", "T3", "COMPLETED", "Returned Goods", "2024-03-15", 200),
    ("F5", "P6B", "R5", "L1", "T1", "COMPLETED", "Returned Goods", "2024-03-16", 90),
]


def _at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(18, 0))


def build_people_and_payments_star(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    connection.execute(DDL)
    connection.executemany("INSERT INTO dim_location VALUES (?, ?, ?, ?, ?, ?)", LOCATIONS)
    connection.execute("INSERT INTO dim_item VALUES ('V1', 'I1', 'Latte', 'Large', 'Coffee', 550, false)")
    connection.execute(
        "INSERT INTO dim_date SELECT range::DATE FROM range(DATE '2024-01-01', DATE '2024-05-01', INTERVAL 1 DAY)"
    )
    connection.executemany("INSERT INTO dim_team_member VALUES (?, ?, ?, ?, ?, ?)", TEAM_MEMBERS)
    for customer_id, name, source, first in CUSTOMERS:
        given, family = name.split(" ")
        first_day = dt.date.fromisoformat(first) if first else None
        cohort = first_day.replace(day=1) if first_day else None
        count = sum(1 for o in ORDERS if o[2] == customer_id and any(g > 0 for _, g in o[6]))
        connection.execute(
            "INSERT INTO dim_customer VALUES (?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?)",
            [customer_id, given, family, name, source, first_day, cohort, count],
        )
    for order_id, location, customer, member, day, source, lines in ORDERS:
        is_return = all(gross < 0 for _, gross in lines)
        for uid, gross in lines:
            connection.execute(
                f"INSERT INTO fct_order_line_item VALUES ({', '.join('?' * 25)})",
                [
                    *(f"{order_id}:{uid}", order_id, uid, location, "V1", customer, member),
                    *(dt.date.fromisoformat(day), 18, _at(day), "COMPLETED", source, "ITEM", is_return, None),
                    *(Decimal(-1 if is_return else 1), gross, 0, 0, 0, 0, 0, gross, gross, CURRENCY[location]),
                ],
            )
        total = sum(gross for _, gross in lines)
        connection.execute(
            f"INSERT INTO fct_order VALUES ({', '.join('?' * 24)})",
            [
                *(order_id, location, customer, member, "COMPLETED", source, _at(day), _at(day)),
                *(dt.date.fromisoformat(day), 18, CURRENCY[location], total, 0, 0, 0, 0),
                *(0 if is_return else len(lines), len(lines) if is_return else 0, not is_return, 1, 0, 0, 0, 0),
            ],
        )
    orders = {o[0]: o for o in ORDERS}
    for payment_id, order_id, status, source_type, brand, amount, tip, fee in PAYMENTS:
        _, location, customer, member, day, _, _ = orders[order_id]
        connection.execute(
            f"INSERT INTO fct_payment VALUES ({', '.join('?' * 16)})",
            [
                *(payment_id, order_id, location, customer, member, status, source_type, brand, _at(day)),
                *(dt.date.fromisoformat(day), CURRENCY[location], amount, tip, amount + tip, 0, fee),
            ],
        )
    for refund_id, payment_id, order_id, location, member, status, reason, day, amount in REFUNDS:
        connection.execute(
            f"INSERT INTO fct_refund VALUES ({', '.join('?' * 12)})",
            [
                *(refund_id, payment_id, order_id, location, member, status, reason, _at(day)),
                *(dt.date.fromisoformat(day), CURRENCY[location], amount, 0),
            ],
        )
    return connection


@pytest.fixture(scope="module")
def star() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = build_people_and_payments_star(duckdb.connect(":memory:"))
    yield connection
    connection.close()


MONEY = {"payments_total", "card_payments", "payment_tips", "payment_processing_fees", "refunds", "gross_sales"}


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is None, value) for value in row)


def _plain(value: Any, money: bool) -> Any:
    if money and isinstance(value, Decimal):
        return int(value.scaleb(2))  # every currency here (USD, GBP) has two places
    if isinstance(value, float | Decimal):
        return round(float(value), 9)
    return value


def answer(connection: duckdb.DuckDBPyConnection, layer: SemanticLayer, **query: Any) -> list[tuple[Any, ...]]:
    """The compiler's rows (group-bys then metrics; the added ``currency`` column left out), money
    in minor units, sorted."""
    result = run_query(connection, layer, MetricQuery(**query))
    keep = [i for i, column in enumerate(result.columns) if column != "currency"]
    money = [result.columns[i] in MONEY for i in keep]
    rows = [tuple(_plain(row[i], m) for i, m in zip(keep, money, strict=True)) for row in result.rows]
    return sorted(rows, key=_key)


def hand(connection: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    rows = [tuple(_plain(v, False) for v in row) for row in connection.execute(sql).fetchall()]
    return sorted(rows, key=_key)


# -- payments and refunds -----------------------------------------------------------------------

PAYMENT_VALUE = {
    "payments_total": "COALESCE(SUM(p.amount + p.tip_amount) FILTER (WHERE p.status = 'COMPLETED'), 0)",
    "card_payments": "COALESCE(SUM(p.total_amount) FILTER (WHERE p.status = 'COMPLETED' "
    "AND p.source_type = 'CARD'), 0)",
    "payment_tips": "COALESCE(SUM(p.tip_amount) FILTER (WHERE p.status = 'COMPLETED'), 0)",
    "payment_processing_fees": "COALESCE(SUM(p.processing_fee_amount) FILTER (WHERE p.status = 'COMPLETED'), 0)",
}
PAYMENT_FROM = """FROM fct_payment p JOIN dim_location l ON l.location_id = p.location_id
    LEFT JOIN dim_team_member t ON t.team_member_id = p.team_member_id
    LEFT JOIN dim_customer c ON c.customer_id = p.customer_id
    LEFT JOIN fct_order o ON o.order_id = p.order_id"""
PAYMENT_KEYS = {
    "payment__currency": "p.currency",
    "payment__tender_type": "p.source_type",
    "payment__card_brand": "p.card_brand",
    "location__name": "l.name",
    "team_member__name": "t.name",
    "team_member__status": "t.status",
    "customer__cohort_month": "c.cohort_month",
    "customer__creation_source": "c.creation_source",
    "order__source": "o.order_source",
    "metric_time__week": "CAST(date_trunc('week', p.business_date) AS DATE)",
}
PAYMENT_GROUPINGS = [
    ["payment__currency"],
    ["payment__tender_type", "payment__currency"],
    ["payment__card_brand", "location__name"],
    ["team_member__name"],
    ["team_member__status", "payment__currency"],
    ["customer__cohort_month", "payment__currency"],
    ["customer__creation_source", "payment__currency"],
    ["order__source", "payment__currency"],
    ["metric_time__week", "payment__currency"],
]


def hand_payments(connection: duckdb.DuckDBPyConnection, metric: str, group_by: list[str]) -> list[tuple[Any, ...]]:
    keys = [PAYMENT_KEYS[g] for g in group_by]
    grouped = f"GROUP BY {', '.join(keys)}"
    return hand(connection, f"SELECT {', '.join(keys)}, {PAYMENT_VALUE[metric]} {PAYMENT_FROM} {grouped}")


@pytest.mark.parametrize("group_by", PAYMENT_GROUPINGS, ids="+".join)
@pytest.mark.parametrize("metric", list(PAYMENT_VALUE))
def test_payment_metrics_equal_hand_written_sql(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, metric: str, group_by: list[str]
) -> None:
    assert answer(star, semantic_layer, metrics=[metric], group_by=group_by) == hand_payments(star, metric, group_by)


def test_payment_metrics_by_tender_type_hold_the_hand_computed_numbers(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    metrics = ["payments_total", "card_payments", "payment_tips", "payment_processing_fees"]
    rows = answer(star, semantic_layer, metrics=metrics, group_by=["payment__tender_type", "payment__currency"])
    assert rows == [
        ("CARD", "GBP", 480, 480, 40, 12),
        ("CARD", "USD", 3760, 3760, 290, 128),
        ("CASH", "USD", 1840, 0, 30, 0),
    ]
    by_member = answer(star, semantic_layer, metrics=["payments_total"], group_by=["team_member__name"])
    assert by_member == [("Ana Lopez", 3450), ("Ben Cho", 2150), ("Cara Diaz", 480)]


def test_payment_tips_by_the_order_source_reach_fct_order_through_the_order_entity(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    rows = answer(star, semantic_layer, metrics=["payment_tips"], group_by=["order__source", "payment__currency"])
    assert rows == [("Online", "USD", 120), ("POS", "GBP", 40), ("POS", "USD", 200)]


def test_a_filter_on_the_tender_type_turns_payments_total_into_card_payments(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    where = [{"dimension": "payment__tender_type", "value": "CARD"}]
    filtered = answer(star, semantic_layer, metrics=["payments_total"], group_by=["location__name"], where=where)
    cards = answer(star, semantic_layer, metrics=["card_payments"], group_by=["location__name"])
    assert filtered == cards == [("Brooklyn Bakery", 1350), ("Mission Cafe", 2410), ("Shoreditch", 480)]


REFUND_KEYS = {
    "refund__currency": "r.currency",
    "refund__reason": "r.reason",
    "location__name": "l.name",
    "team_member__name": "t.name",
    "payment__tender_type": "p.source_type",
    "payment__card_brand": "p.card_brand",
    "payment__customer__cohort_month": "c.cohort_month",
    "metric_time__week": "CAST(date_trunc('week', r.business_date) AS DATE)",
}
REFUND_GROUPINGS = [
    [],
    ["location__name"],
    ["payment__tender_type", "refund__currency"],
    ["payment__card_brand", "refund__currency"],
    ["team_member__name"],
    ["refund__reason", "refund__currency"],
    ["payment__customer__cohort_month", "refund__currency"],
    ["metric_time__week", "location__name"],
]


@pytest.mark.parametrize("group_by", REFUND_GROUPINGS, ids=lambda g: "+".join(g) or "total")
def test_refunds_equal_hand_written_sql(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, group_by: list[str]
) -> None:
    keys = [REFUND_KEYS[g] for g in group_by]
    where = "WHERE r.currency = 'USD'" if not group_by else ""
    sql = f"""SELECT {"".join(k + ", " for k in keys)} COALESCE(SUM(r.amount) FILTER (WHERE r.status = 'COMPLETED'), 0)
        FROM fct_refund r JOIN dim_location l ON l.location_id = r.location_id
        LEFT JOIN dim_team_member t ON t.team_member_id = r.team_member_id
        LEFT JOIN fct_payment p ON p.payment_id = r.payment_id
        LEFT JOIN dim_customer c ON c.customer_id = p.customer_id
        {where} {"GROUP BY " + ", ".join(keys) if keys else ""}"""
    query_where = [{"dimension": "refund__currency", "value": "USD"}] if not group_by else []
    assert answer(star, semantic_layer, metrics=["refunds"], group_by=group_by, where=query_where) == hand(star, sql)


def test_refunds_hold_the_hand_computed_numbers(star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer) -> None:
    by_tender = answer(star, semantic_layer, metrics=["refunds"], group_by=["payment__tender_type", "refund__currency"])
    assert by_tender == [("CARD", "GBP", 200), ("CARD", "USD", 910), ("CASH", "USD", 90)]
    by_location = answer(star, semantic_layer, metrics=["refunds"], group_by=["location__name"])
    assert by_location == [("Brooklyn Bakery", 250), ("Mission Cafe", 750), ("Shoreditch", 200)]


def test_payments_refunds_and_sales_by_location_are_aggregated_apart(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    """Orders O1 and O5 have two lines and O6 two payments: a naive join would double-count."""
    rows = answer(
        star, semantic_layer, metrics=["payments_total", "refunds", "gross_sales"], group_by=["location__name"]
    )
    assert rows == [
        ("Brooklyn Bakery", 2150, 250, 1800),
        ("Mission Cafe", 3450, 750, 3000),
        ("Shoreditch", 480, 200, 400),
    ]
    [[naive]] = star.execute(
        """SELECT SUM(p.total_amount) FROM fct_payment p JOIN fct_order_line_item f USING (order_id)
           WHERE p.status = 'COMPLETED' AND NOT f.is_return"""
    ).fetchall()
    assert naive > 5600 + 480


# -- customers ----------------------------------------------------------------------------------


def hand_customers(connection: duckdb.DuckDBPyConnection, grain: str) -> list[tuple[Any, ...]]:
    """Per period with sales, from the sales lines alone (not dim_customer): customers whose first
    sales line ever is in the period (NULL when none: new_customers has no row for such a period,
    as in MetricFlow without fill_nulls_with), customers with a sales line in it, those of them who
    bought before it, and that share of them (NULL with no identified customer)."""
    period = f"CAST(date_trunc('{grain}', business_date) AS DATE)"
    return hand(
        connection,
        f"""WITH sales AS (
                SELECT customer_id, business_date, {period} AS period FROM fct_order_line_item
                WHERE NOT is_return),
            firsts AS (
                SELECT customer_id, MIN(business_date) AS first_day FROM sales
                WHERE customer_id IS NOT NULL GROUP BY 1),
            counts AS (
                SELECT s.period,
                    COUNT(DISTINCT s.customer_id) AS buyers,
                    COUNT(DISTINCT s.customer_id) FILTER (WHERE f.first_day < s.period) AS returning
                FROM sales s LEFT JOIN firsts f USING (customer_id) GROUP BY s.period)
            SELECT c.period,
                NULLIF((SELECT COUNT(*) FROM firsts f
                        WHERE CAST(date_trunc('{grain}', f.first_day) AS DATE) = c.period), 0),
                c.buyers, c.returning, c.returning / NULLIF(c.buyers, 0)
            FROM counts c""",
    )


CUSTOMER_METRICS = ["new_customers", "unique_customers", "returning_customers", "returning_customer_rate"]


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter"])
def test_new_and_returning_customers_equal_hand_written_sql(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, grain: str
) -> None:
    rows = answer(
        star,
        semantic_layer,
        metrics=CUSTOMER_METRICS,
        group_by=[f"metric_time__{grain}"],
        start="2024-02-01",
        end="2024-03-31",
    )
    assert rows == hand_customers(star, grain)


def test_new_and_returning_customers_hold_the_hand_computed_numbers(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    query: dict[str, Any] = {"metrics": CUSTOMER_METRICS, "start": "2024-02-01", "end": "2024-03-31"}
    by_week = answer(star, semantic_layer, group_by=["metric_time__week"], **query)
    assert by_week == [
        (dt.date(2024, 2, 26), 1, 1, 0, 0.0),
        (dt.date(2024, 3, 4), 1, 2, 1, 0.5),
        (dt.date(2024, 3, 11), 2, 3, 1, round(1 / 3, 9)),
    ]
    by_month = answer(star, semantic_layer, group_by=["metric_time__month"], **query)
    assert by_month == [(dt.date(2024, 2, 1), 1, 1, 0, 0.0), (dt.date(2024, 3, 1), 3, 4, 1, 0.25)]
    # over the whole history every customer is new: nobody returns
    assert answer(star, semantic_layer, **query) == [(4, 4, 0, 0.0)]


def test_without_a_range_only_customers_who_never_ordered_lie_outside_every_period(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    """dim_customer rows with no first_order_date have no metric_time: whatever the compiler does
    with them (a NULL period, as MetricFlow does, or no row), they add no new customer."""
    rows = answer(star, semantic_layer, metrics=["new_customers"], group_by=["metric_time__week"])
    assert [r for r in rows if r[0] is not None] == [
        (dt.date(2024, 2, 26), 1),
        (dt.date(2024, 3, 4), 1),
        (dt.date(2024, 3, 11), 2),
    ]
    assert all(r[1] in (0, None) for r in rows if r[0] is None)


@pytest.mark.parametrize(
    ("group_by", "sql_key"),
    [
        (["customer__cohort_month"], "cohort_month"),
        (["customer__cohort_month__quarter"], "CAST(date_trunc('quarter', cohort_month) AS DATE)"),
        (["customer__creation_source"], "creation_source"),
        (["customer__name"], "name"),
    ],
    ids=lambda g: g[0] if isinstance(g, list) else "",
)
def test_new_customers_by_customer_dimensions_equal_hand_written_sql(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, group_by: list[str], sql_key: str
) -> None:
    sql = f"SELECT {sql_key}, COUNT(first_order_date) FROM dim_customer GROUP BY 1"
    assert answer(star, semantic_layer, metrics=["new_customers"], group_by=group_by) == hand(star, sql)


def test_customer_cohort_month_is_the_month_grain_of_a_time_dimension(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    """``customer__cohort_month`` resolves to the time dimension at its declared grain (the
    column is named ``customer__cohort_month__month``); payments reach it through their customer."""
    result = run_query(
        star, semantic_layer, MetricQuery(metrics=["new_customers"], group_by=["customer__cohort_month"])
    )
    assert result.columns == ["customer__cohort_month__month", "new_customers"]
    assert result.rows == [[dt.date(2024, 2, 1), 1], [dt.date(2024, 3, 1), 3], [None, 0]]
    usd = [{"dimension": "payment__currency", "value": "USD"}]
    rows = answer(star, semantic_layer, metrics=["payments_total"], group_by=["customer__cohort_month"], where=usd)
    assert rows == [(dt.date(2024, 2, 1), 1910), (dt.date(2024, 3, 1), 3140), (None, 550)]


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metrics", "group_by", "reason"),
    [
        # customer -> location is not a many-to-one path: new customers cannot be split by shop
        (
            ["returning_customer_rate"],
            ["location__name"],
            r"'location__name' for \['returning_customer_rate'\].*customer",
        ),
        # a customer has many payments: splitting new customers by tender type would fan out
        (
            ["payments_total", "new_customers"],
            ["payment__tender_type"],
            r"'payment__tender_type' for \['new_customers'\]",
        ),
        # a refund reaches customers only through its payment (payment__customer__cohort_month)
        (["payments_total", "refunds"], ["customer__cohort_month"], r"'customer__cohort_month' for \['refunds'\]"),
    ],
)
def test_groupings_a_fact_cannot_reach_are_refused_with_the_reason(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, metrics: list[str], group_by: list[str], reason: str
) -> None:
    with pytest.raises(SemanticQueryError, match=rf"Cannot group by {reason}.*no many-to-one join reaches it"):
        run_query(star, semantic_layer, MetricQuery(metrics=metrics, group_by=group_by))


def test_a_location_filter_on_new_customers_is_refused(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    where = [{"dimension": "location__name", "value": "Mission Cafe"}]
    with pytest.raises(
        SemanticQueryError, match=r"Cannot filter on 'location__name' for \['returning_customer_rate'\]"
    ):
        run_query(star, semantic_layer, MetricQuery(metrics=["returning_customer_rate"], where=where))


def test_payments_in_two_currencies_are_refused_by_week_alone(
    star: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    with pytest.raises(SemanticQueryError, match=r"different currencies \['GBP', 'USD'\].*payment__currency"):
        run_query(star, semantic_layer, MetricQuery(metrics=["payments_total"], group_by=["metric_time__week"]))
