"""Money in several currencies: answered per group when each group has one currency, never added up.

Expectations are the hand-computed totals in conftest.py (the multi-currency merchant).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from square_bi.semantic import MetricQuery, QueryResult, SemanticLayer, SemanticQueryError, run_query
from square_bi.semantic.money import to_major_units

D = dt.date.fromisoformat


def places(value: Any) -> int:
    assert isinstance(value, Decimal), f"money came back as {type(value).__name__}"
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return -exponent


def ask(connection: duckdb.DuckDBPyConnection, layer: SemanticLayer, **query: Any) -> QueryResult:
    return run_query(connection, layer, MetricQuery(**query))


def test_gross_sales_by_location_answers_each_locations_total_in_its_own_currency(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(usd_gbp_warehouse, semantic_layer, metrics=["gross_sales", "order_count"], group_by=["location__name"])
    assert result.columns == ["location__name", "currency", "gross_sales", "order_count"]
    assert result.rows == [
        ["Mission Cafe", "USD", Decimal("24.75"), 3],
        ["Shoreditch", "GBP", Decimal("15.00"), 2],
    ]
    assert [places(row[2]) for row in result.rows] == [2, 2]


def test_a_result_in_several_currencies_names_no_single_currency_and_says_why_in_a_note(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(usd_gbp_warehouse, semantic_layer, metrics=["gross_sales", "order_count"], group_by=["location__name"])
    gross_sales, order_count = result.metrics
    assert gross_sales.currency is None
    assert order_count.currency is None
    assert result.notes == [
        "['gross_sales'] are in major units of each row's currency (column 'currency'): GBP, USD; not converted."
    ]


def test_the_currency_column_is_stripped_of_the_helper_columns_in_json_too(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    data = ask(usd_gbp_warehouse, semantic_layer, metrics=["gross_sales"], group_by=["location__name"]).to_jsonable()
    assert data["columns"] == ["location__name", "currency", "gross_sales"]
    assert data["rows"] == [["Mission Cafe", "USD", "24.75"], ["Shoreditch", "GBP", "15.00"]]


def test_location_by_week_answers_every_group_in_its_locations_currency(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(
        usd_gbp_warehouse, semantic_layer, metrics=["gross_sales"], group_by=["metric_time__week", "location__name"]
    )
    assert result.columns == ["metric_time__week", "location__name", "currency", "gross_sales"]
    assert result.rows == [
        [D("2024-03-04"), "Mission Cafe", "USD", Decimal("13.75")],
        [D("2024-03-04"), "Shoreditch", "GBP", Decimal("4.20")],
        [D("2024-03-11"), "Mission Cafe", "USD", Decimal("11.00")],
        [D("2024-03-11"), "Shoreditch", "GBP", Decimal("10.80")],
    ]


def test_gross_sales_by_week_alone_is_refused_because_a_week_mixes_dollars_and_pounds(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    with pytest.raises(SemanticQueryError) as raised:
        ask(usd_gbp_warehouse, semantic_layer, metrics=["gross_sales"], group_by=["metric_time__week"])
    message = str(raised.value)
    assert "different currencies ['GBP', 'USD']" in message
    assert "metric_time__week=2024-03-04" in message
    assert "add 'order_line_item__currency' to group_by" in message
    assert "'location__name'" in message


def test_gross_sales_with_no_group_by_is_refused_over_two_currencies(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    with pytest.raises(SemanticQueryError, match=r"different currencies \['GBP', 'USD'\] within one row \(the total\)"):
        ask(usd_gbp_warehouse, semantic_layer, metrics=["gross_sales"])


def test_order_count_by_week_needs_no_single_currency(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(usd_gbp_warehouse, semantic_layer, metrics=["order_count"], group_by=["metric_time__week"])
    assert result.columns == ["metric_time__week", "order_count"]
    assert result.rows == [[D("2024-03-04"), 3], [D("2024-03-11"), 2]]


def test_grouping_by_currency_answers_one_row_per_currency_without_a_second_currency_column(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(
        usd_gbp_warehouse,
        semantic_layer,
        metrics=["gross_sales", "order_count"],
        group_by=["order_line_item__currency"],
    )
    assert result.columns == ["order_line_item__currency", "gross_sales", "order_count"]
    assert result.rows == [["GBP", Decimal("15.00"), 2], ["USD", Decimal("24.75"), 3]]
    assert result.notes == [
        "['gross_sales'] are in major units of each row's 'order_line_item__currency': GBP, USD; not converted."
    ]


def test_week_by_currency_splits_the_mixed_week(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(
        usd_gbp_warehouse,
        semantic_layer,
        metrics=["gross_sales"],
        group_by=["metric_time__week", "order_line_item__currency"],
    )
    assert result.rows == [
        [D("2024-03-04"), "GBP", Decimal("4.20")],
        [D("2024-03-04"), "USD", Decimal("13.75")],
        [D("2024-03-11"), "GBP", Decimal("10.80")],
        [D("2024-03-11"), "USD", Decimal("11.00")],
    ]


def test_a_result_whose_rows_share_one_currency_keeps_the_plain_columns_and_names_it(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(
        usd_gbp_warehouse,
        semantic_layer,
        metrics=["gross_sales"],
        group_by=["location__name"],
        order_by=["location__name"],
        limit=1,
    )
    assert result.columns == ["location__name", "gross_sales"]
    assert result.rows == [["Mission Cafe", Decimal("24.75")]]
    assert result.metrics[0].currency == "USD"
    assert result.notes == []


def test_ordering_by_money_across_currencies_is_flagged_in_the_notes(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(
        usd_gbp_warehouse,
        semantic_layer,
        metrics=["gross_sales"],
        group_by=["location__name"],
        order_by=["-gross_sales"],
    )
    assert any("without exchange rates" in note for note in result.notes)


def test_the_sql_of_a_multi_currency_answer_runs_and_shows_minor_units_with_each_groups_currency(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(usd_gbp_warehouse, semantic_layer, metrics=["gross_sales"], group_by=["location__name"])
    rows = usd_gbp_warehouse.execute(result.sql).fetchall()
    assert [row[:3] for row in rows] == [
        ("Mission Cafe", Decimal("2475"), "USD"),
        ("Shoreditch", Decimal("1500"), "GBP"),
    ]
    assert all(low == high for *_, low, high in rows)  # the hashes of each row's codes agree: one currency


# -- currencies with different minor units in one result --------------------------------------


def test_yen_come_back_with_no_decimal_places_and_dollars_and_pounds_with_two_in_the_same_result(
    usd_gbp_jpy_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(
        usd_gbp_jpy_warehouse, semantic_layer, metrics=["gross_sales", "order_count"], group_by=["location__name"]
    )
    assert result.columns == ["location__name", "currency", "gross_sales", "order_count"]
    assert result.rows == [
        ["Mission Cafe", "USD", Decimal("24.75"), 3],
        ["Shibuya", "JPY", Decimal("2330"), 2],
        ["Shoreditch", "GBP", Decimal("15.00"), 2],
    ]
    assert [places(row[2]) for row in result.rows] == [2, 0, 2]
    assert [row[2] for row in result.to_jsonable()["rows"]] == ["24.75", "2330", "15.00"]


def test_grouping_by_currency_scales_each_currency_by_its_own_minor_unit(
    usd_gbp_jpy_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(usd_gbp_jpy_warehouse, semantic_layer, metrics=["gross_sales"], group_by=["order_line_item__currency"])
    assert result.rows == [["GBP", Decimal("15.00")], ["JPY", Decimal("2330")], ["USD", Decimal("24.75")]]
    assert [places(row[1]) for row in result.rows] == [2, 0, 2]


def test_location_by_week_with_yen_keeps_each_rows_places(
    usd_gbp_jpy_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = ask(
        usd_gbp_jpy_warehouse, semantic_layer, metrics=["gross_sales"], group_by=["location__name", "metric_time__week"]
    )
    assert result.rows == [
        ["Mission Cafe", D("2024-03-04"), "USD", Decimal("13.75")],
        ["Mission Cafe", D("2024-03-11"), "USD", Decimal("11.00")],
        ["Shibuya", D("2024-03-04"), "JPY", Decimal("650")],
        ["Shibuya", D("2024-03-11"), "JPY", Decimal("1680")],
        ["Shoreditch", D("2024-03-04"), "GBP", Decimal("4.20")],
        ["Shoreditch", D("2024-03-11"), "GBP", Decimal("10.80")],
    ]
    assert [places(row[3]) for row in result.rows] == [2, 2, 0, 0, 2, 2]


@pytest.mark.parametrize(
    ("minor", "currency", "major"),
    [
        (18549, "USD", "185.49"),
        (0, "GBP", "0.00"),
        (-550, "USD", "-5.50"),
        (18549, "JPY", "18549"),
        (12345, "KWD", "12.345"),
        (10**37 + 1, "USD", "100000000000000000000000000000000000.01"),
        (None, "USD", None),
    ],
)
def test_minor_units_become_major_units_with_exactly_the_currencys_places(
    minor: int | None, currency: str, major: str | None
) -> None:
    converted = to_major_units(minor, currency)
    if major is None:
        assert converted is None
    else:
        assert str(converted) == major
