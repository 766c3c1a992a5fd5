"""Compiled metrics against hand-written SQL and hand-computed totals on the same star schema."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from sqlglot import exp

from square_bi.errors import WarehouseError
from square_bi.semantic import (
    MetricInfo,
    MetricQuery,
    SemanticLayer,
    SemanticQueryError,
    compile_query,
    run_query,
    to_sql,
)

D = dt.date.fromisoformat

# Hand-written SQL per group-by (deliberately a different formulation from the compiler's: FILTER
# clauses, dim_date's week_start / month_start). Each returns the group-by columns, gross sales
# in cents and distinct orders, ordered by the group-by columns ascending, NULLs last.
_GROSS_CENTS = "COALESCE(SUM(f.gross_sales_amount) FILTER (WHERE NOT f.is_return), 0)"
_ORDERS = "COUNT(DISTINCT f.order_id) FILTER (WHERE NOT f.is_return)"
HAND_SQL: dict[tuple[str, ...], str] = {
    (): f"SELECT {_GROSS_CENTS}, {_ORDERS} FROM fct_order_line_item f",
    ("metric_time__day",): f"""
        SELECT f.business_date, {_GROSS_CENTS}, {_ORDERS}
        FROM fct_order_line_item f GROUP BY f.business_date ORDER BY 1""",
    ("metric_time__week",): f"""
        SELECT d.week_start, {_GROSS_CENTS}, {_ORDERS}
        FROM fct_order_line_item f JOIN dim_date d ON d.date_day = f.business_date
        GROUP BY d.week_start ORDER BY 1""",
    ("metric_time__month",): f"""
        SELECT d.month_start, {_GROSS_CENTS}, {_ORDERS}
        FROM fct_order_line_item f JOIN dim_date d ON d.date_day = f.business_date
        GROUP BY d.month_start ORDER BY 1""",
    ("location__name",): f"""
        SELECT l.name, {_GROSS_CENTS}, {_ORDERS}
        FROM fct_order_line_item f JOIN dim_location l ON l.location_id = f.location_id
        GROUP BY l.name ORDER BY 1""",
    ("item__category",): f"""
        SELECT i.category_name, {_GROSS_CENTS}, {_ORDERS}
        FROM fct_order_line_item f LEFT JOIN dim_item i ON i.item_variation_id = f.item_variation_id
        GROUP BY i.category_name ORDER BY 1 NULLS LAST""",
    ("location__name", "metric_time__week"): f"""
        SELECT l.name, d.week_start, {_GROSS_CENTS}, {_ORDERS}
        FROM fct_order_line_item f
        JOIN dim_location l ON l.location_id = f.location_id
        JOIN dim_date d ON d.date_day = f.business_date
        GROUP BY l.name, d.week_start ORDER BY 1, 2""",
}

CENT = Decimal("0.01")


def dollars(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def hand_rows(connection: duckdb.DuckDBPyConnection, group_by: tuple[str, ...]) -> list[list[Any]]:
    """Rows of the hand SQL shaped like the compiled query: dims, gross sales (dollars), orders."""
    rows = connection.execute(HAND_SQL[group_by]).fetchall()
    width = len(group_by)
    return [[*row[:width], dollars(int(row[width])), row[width + 1]] for row in rows]


def assert_money(value: Any) -> None:
    assert isinstance(value, Decimal), f"money came back as {type(value).__name__}"
    assert value.as_tuple().exponent == -2, f"{value!r} does not have exactly 2 decimal places"


@pytest.mark.parametrize("group_by", list(HAND_SQL), ids=lambda g: "+".join(g) or "no group_by")
def test_both_metrics_equal_hand_written_sql_to_the_cent(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, group_by: tuple[str, ...]
) -> None:
    query = MetricQuery(metrics=["gross_sales", "order_count"], group_by=list(group_by))
    result = run_query(warehouse, semantic_layer, query)
    assert result.columns == [*group_by, "gross_sales", "order_count"]
    assert result.rows == hand_rows(warehouse, group_by)
    for row in result.rows:
        assert_money(row[len(group_by)])


@pytest.mark.parametrize("metric", ["gross_sales", "order_count"])
@pytest.mark.parametrize("group_by", list(HAND_SQL), ids=lambda g: "+".join(g) or "no group_by")
def test_each_metric_alone_equals_hand_written_sql(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, metric: str, group_by: tuple[str, ...]
) -> None:
    result = run_query(warehouse, semantic_layer, MetricQuery(metrics=[metric], group_by=list(group_by)))
    column = len(group_by) + (0 if metric == "gross_sales" else 1)
    expected = [[*row[: len(group_by)], row[column]] for row in hand_rows(warehouse, group_by)]
    assert result.rows == expected


# -- hand-computed totals (see the table in conftest.py) --------------------------------------


def rows_of(warehouse: duckdb.DuckDBPyConnection, layer: SemanticLayer, **query: Any) -> list[list[Any]]:
    return run_query(warehouse, layer, MetricQuery(**query)).rows


def test_totals_exclude_returns(warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer) -> None:
    rows = rows_of(warehouse, semantic_layer, metrics=["gross_sales", "order_count"])
    assert rows == [[Decimal("185.49"), 19]]


def test_weeks_start_on_monday_and_span_the_month_boundary(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    rows = rows_of(warehouse, semantic_layer, metrics=["gross_sales", "order_count"], group_by=["metric_time__week"])
    assert rows == [
        [D("2024-02-26"), Decimal("72.50"), 7],
        [D("2024-03-04"), Decimal("51.24"), 5],
        [D("2024-03-11"), Decimal("32.25"), 4],
        [D("2024-03-18"), Decimal("29.50"), 3],
    ]


def test_months_split_the_leap_day_week(warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer) -> None:
    rows = rows_of(warehouse, semantic_layer, metrics=["gross_sales", "order_count"], group_by=["metric_time__month"])
    assert rows == [[D("2024-02-01"), Decimal("36.75"), 4], [D("2024-03-01"), Decimal("148.74"), 15]]


def test_days_are_business_dates_in_the_locations_time_zone_not_utc_dates(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    rows = rows_of(warehouse, semantic_layer, metrics=["gross_sales", "order_count"], group_by=["metric_time__day"])
    by_day = {row[0]: row[1:] for row in rows}
    # O4 closed at 22:15 in Honolulu on Feb 29, which is 08:15 UTC on March 1.
    assert by_day[D("2024-02-29")] == [Decimal("10.00"), 1]
    assert by_day[D("2024-03-01")] == [Decimal("16.50"), 1]
    # A day with only a return line has no sales and no orders.
    assert by_day[D("2024-03-09")] == [Decimal("0.00"), 0]
    assert len(rows) == 21


def test_gross_sales_by_location(warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer) -> None:
    rows = rows_of(warehouse, semantic_layer, metrics=["gross_sales", "order_count"], group_by=["location__name"])
    assert rows == [
        ["Brooklyn Bakery", Decimal("74.75"), 7],
        ["Honolulu Kiosk", Decimal("20.00"), 3],
        ["Mission Cafe", Decimal("90.74"), 9],
    ]


def test_lines_without_an_item_group_under_a_null_category_last(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    rows = rows_of(warehouse, semantic_layer, metrics=["gross_sales", "order_count"], group_by=["item__category"])
    assert rows == [
        ["Coffee", Decimal("107.50"), 14],
        ["Pastry", Decimal("45.00"), 8],
        ["Tea", Decimal("3.00"), 1],
        [None, Decimal("29.99"), 2],
    ]


def test_location_by_week_keeps_a_return_only_week_as_zero(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    rows = rows_of(
        warehouse,
        semantic_layer,
        metrics=["gross_sales", "order_count"],
        group_by=["location__name", "metric_time__week"],
    )
    assert rows == [
        ["Brooklyn Bakery", D("2024-02-26"), Decimal("32.25"), 3],
        ["Brooklyn Bakery", D("2024-03-04"), Decimal("13.00"), 1],
        ["Brooklyn Bakery", D("2024-03-11"), Decimal("15.75"), 2],
        ["Brooklyn Bakery", D("2024-03-18"), Decimal("13.75"), 1],
        ["Honolulu Kiosk", D("2024-02-26"), Decimal("10.00"), 1],
        ["Honolulu Kiosk", D("2024-03-04"), Decimal("4.50"), 1],
        ["Honolulu Kiosk", D("2024-03-11"), Decimal("5.50"), 1],
        ["Honolulu Kiosk", D("2024-03-18"), Decimal("0.00"), 0],
        ["Mission Cafe", D("2024-02-26"), Decimal("30.25"), 3],
        ["Mission Cafe", D("2024-03-04"), Decimal("33.74"), 3],
        ["Mission Cafe", D("2024-03-11"), Decimal("11.00"), 1],
        ["Mission Cafe", D("2024-03-18"), Decimal("15.75"), 2],
    ]


def test_top_locations_by_gross_sales_with_a_limit(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    rows = rows_of(
        warehouse,
        semantic_layer,
        metrics=["gross_sales"],
        group_by=["location__name"],
        order_by=["-gross_sales"],
        limit=2,
    )
    assert rows == [["Mission Cafe", Decimal("90.74")], ["Brooklyn Bakery", Decimal("74.75")]]


# -- what the result says about itself --------------------------------------------------------


def test_duckdb_types_money_as_whole_minor_units_in_a_hugeint_not_double(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    compiled = compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"], group_by=["location__name"]))
    typeof = exp.select(exp.func("typeof", exp.column("gross_sales"))).distinct().from_(compiled.subquery("q"))
    [(money_type,)] = warehouse.execute(to_sql(typeof)).fetchall()
    assert money_type == "HUGEINT"


def test_the_result_carries_metric_metadata_with_the_currency(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = run_query(warehouse, semantic_layer, MetricQuery(metrics=["gross_sales", "order_count"]))
    gross_sales, order_count = result.metrics
    assert (gross_sales.name, gross_sales.label, gross_sales.unit, gross_sales.currency) == (
        "gross_sales",
        "Gross sales",
        "money",
        "USD",
    )
    assert gross_sales.description == semantic_layer.metrics["gross_sales"].description
    assert order_count == MetricInfo(
        name="order_count",
        label="Orders",
        unit="count",
        description=semantic_layer.metrics["order_count"].description,
        currency=None,
    )
    assert result.sql.startswith("SELECT gross_sales_amount AS gross_sales")


def test_the_result_says_which_date_and_week_start_metric_time_used(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = run_query(warehouse, semantic_layer, MetricQuery(metrics=["order_count"], group_by=["metric_time__week"]))
    [note] = result.notes
    assert "order_line_item.business_date" in note
    assert "time zone" in note
    assert "Monday" in note


def test_to_jsonable_renders_money_as_exact_strings_and_dates_as_iso(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    query = MetricQuery(metrics=["gross_sales", "order_count"], group_by=["metric_time__month"])
    data = run_query(warehouse, semantic_layer, query).to_jsonable()
    assert data["rows"] == [["2024-02-01", "36.75", 4], ["2024-03-01", "148.74", 15]]
    assert data["metrics"][0]["currency"] == "USD"
    json.dumps(data)


# -- currencies -------------------------------------------------------------------------------


def add_toronto(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        "INSERT INTO dim_location VALUES ('L4', 'Toronto Roastery', 'America/Toronto', 'CAD', 'ACTIVE', 'Toronto')"
    )
    connection.execute(
        """INSERT INTO fct_order_line_item VALUES ('C1:a', 'C1', 'a', 'L4', 'V1', NULL, DATE '2024-03-05', 9,
           TIMESTAMP '2024-03-05 14:15:00', 'COMPLETED', 'POS', 'ITEM', false, NULL, 1, 625, 0, 0, 81, 81, 0,
           625, 706, 'CAD')"""
    )


def test_money_in_two_currencies_is_not_added_up(
    fresh_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    add_toronto(fresh_warehouse)
    with pytest.raises(SemanticQueryError, match=r"different currencies \['CAD', 'USD'\].*order_line_item__currency"):
        run_query(fresh_warehouse, semantic_layer, MetricQuery(metrics=["gross_sales"]))


def test_grouping_by_currency_answers_one_row_per_currency(
    fresh_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    add_toronto(fresh_warehouse)
    query = MetricQuery(metrics=["gross_sales", "order_count"], group_by=["order_line_item__currency"])
    result = run_query(fresh_warehouse, semantic_layer, query)
    assert result.rows == [["CAD", Decimal("6.25"), 1], ["USD", Decimal("185.49"), 19]]
    assert result.metrics[0].currency is None
    assert any("order_line_item__currency" in note for note in result.notes)


def test_counts_need_no_single_currency(
    fresh_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    add_toronto(fresh_warehouse)
    assert rows_of(fresh_warehouse, semantic_layer, metrics=["order_count"]) == [[20]]


def test_yen_amounts_have_no_minor_units(
    fresh_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    fresh_warehouse.execute("UPDATE fct_order_line_item SET currency = 'JPY'")
    result = run_query(fresh_warehouse, semantic_layer, MetricQuery(metrics=["gross_sales"]))
    assert result.rows == [[Decimal("18549")]]
    assert result.metrics[0].currency == "JPY"


def test_a_warehouse_without_the_star_schema_raises_a_warehouse_error(semantic_layer: SemanticLayer) -> None:
    with duckdb.connect(":memory:") as empty, pytest.raises(WarehouseError, match="fct_order_line_item"):
        run_query(empty, semantic_layer, MetricQuery(metrics=["order_count"]))
