"""Money the warehouse's statistics prove is in one currency is answered without a per-row check,
and only then: a second currency, a missing one, or an open transaction keep the answers right.

The fixtures' facts are all USD (``warehouse``), or USD and GBP (``usd_gbp_warehouse``); totals
are the hand-computed ones in conftest.py.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from square_bi.semantic import MetricQuery, SemanticLayer, SemanticQueryError, run_query, runner
from square_bi.semantic.plan import QueryPlan, plan_query
from square_bi.semantic.proven_currency import CurrencyStatistics, currency_statistics
from square_bi.semantic.resolve import resolve_query

from .conftest import build_star_schema

SALES_AND_TIPS = MetricQuery(metrics=["gross_sales", "tips"], group_by=["location__name"])
GROSS_SALES = MetricQuery(metrics=["gross_sales"])
ALL_GROSS_SALES_IN_CENTS = 18549

# a copy of one sales line, in pounds: the shop now sells in two currencies
ADD_A_POUND_LINE = """
INSERT INTO fct_order_line_item
SELECT * REPLACE ('added-gbp-line' AS line_item_id, 'GBP' AS currency)
FROM fct_order_line_item WHERE NOT is_return ORDER BY line_item_id LIMIT 1
"""


def plan_of(layer: SemanticLayer, query: MetricQuery) -> QueryPlan:
    return plan_query(layer, resolve_query(layer, query))


def proven(connection: duckdb.DuckDBPyConnection, layer: SemanticLayer, query: MetricQuery) -> dict[str, str]:
    return dict(currency_statistics(connection, plan_of(layer, query)).proven)


def test_a_warehouse_in_one_currency_proves_it_for_each_fact(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    assert proven(warehouse, semantic_layer, SALES_AND_TIPS) == {"order_line_item": "USD", "order": "USD"}


def test_money_all_proven_in_one_currency_needs_no_currency_column_and_no_row_is_hashed(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = run_query(warehouse, semantic_layer, SALES_AND_TIPS)
    assert "HASH(" not in result.sql
    columns = [column[0] for column in warehouse.execute(result.sql).description or []]
    assert columns == ["location__name", "gross_sales", "tips"]
    assert [m.currency for m in result.metrics] == ["USD", "USD"]
    assert sum(row[1] for row in result.rows) == Decimal(ALL_GROSS_SALES_IN_CENTS) / 100


def test_a_warehouse_in_two_currencies_proves_nothing_and_checks_every_row(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    assert proven(usd_gbp_warehouse, semantic_layer, SALES_AND_TIPS) == {}
    result = run_query(usd_gbp_warehouse, semantic_layer, SALES_AND_TIPS)
    assert "HASH(" in result.sql
    with pytest.raises(SemanticQueryError, match=r"different currencies \['GBP', 'USD'\]"):
        run_query(usd_gbp_warehouse, semantic_layer, GROSS_SALES)


def test_a_second_currency_added_after_an_answer_is_refused_by_the_next_query(
    fresh_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    before = run_query(fresh_warehouse, semantic_layer, GROSS_SALES)
    assert before.rows == [[Decimal(ALL_GROSS_SALES_IN_CENTS) / 100]]
    fresh_warehouse.execute(ADD_A_POUND_LINE)
    assert proven(fresh_warehouse, semantic_layer, GROSS_SALES) == {}
    with pytest.raises(SemanticQueryError, match=r"different currencies \['GBP', 'USD'\]"):
        run_query(fresh_warehouse, semantic_layer, GROSS_SALES)


def test_a_currency_column_holding_a_null_is_not_proven(
    fresh_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    fresh_warehouse.execute(
        "UPDATE fct_order_line_item SET currency = NULL "
        "WHERE line_item_id = (SELECT MIN(line_item_id) FROM fct_order_line_item)"
    )
    assert proven(fresh_warehouse, semantic_layer, SALES_AND_TIPS) == {"order": "USD"}
    result = run_query(fresh_warehouse, semantic_layer, SALES_AND_TIPS)
    assert "'USD' AS __order__currency" in result.sql  # the proven model's code, a constant
    assert "HASH(" in result.sql  # the other's, checked row by row
    assert result.metrics[0].currency == "USD"  # the other rows' code; the NULL one adds none
    assert sum(row[1] for row in result.rows) == Decimal(ALL_GROSS_SALES_IN_CENTS) / 100


def test_a_query_inside_the_callers_transaction_leaves_it_open_and_uncommitted(
    fresh_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    fresh_warehouse.begin()
    fresh_warehouse.execute(ADD_A_POUND_LINE)
    with pytest.raises(SemanticQueryError, match="different currencies"):
        run_query(fresh_warehouse, semantic_layer, GROSS_SALES)  # sees its caller's own new row
    fresh_warehouse.rollback()  # still the caller's transaction to end
    after = run_query(fresh_warehouse, semantic_layer, GROSS_SALES)
    assert after.rows == [[Decimal(ALL_GROSS_SALES_IN_CENTS) / 100]]


def test_a_refused_query_leaves_no_transaction_open(
    usd_gbp_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    with pytest.raises(SemanticQueryError):
        run_query(usd_gbp_warehouse, semantic_layer, GROSS_SALES)
    usd_gbp_warehouse.begin()  # would raise if run_query had left a transaction open
    usd_gbp_warehouse.rollback()


def test_a_currency_committed_between_the_proof_and_the_query_sends_it_through_the_row_check(
    fresh_warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync on another connection commits a pound line right after the first reading of the
    statistics: the query then sees it, and without the second reading would add pence to cents."""
    readings: list[CurrencyStatistics] = []

    def read_then_let_a_sync_commit(connection: duckdb.DuckDBPyConnection, plan: QueryPlan) -> CurrencyStatistics:
        found = currency_statistics(connection, plan)
        if not readings:
            sync = connection.cursor()
            sync.execute(ADD_A_POUND_LINE)
            sync.close()
        readings.append(found)
        return found

    monkeypatch.setattr(runner, "currency_statistics", read_then_let_a_sync_commit)
    with pytest.raises(SemanticQueryError, match=r"different currencies \['GBP', 'USD'\]"):
        run_query(fresh_warehouse, semantic_layer, GROSS_SALES)
    assert [reading.proven for reading in readings[:2]] == [(("order_line_item", "USD"),), ()]


def test_a_read_only_warehouse_says_so_with_its_statistics(
    tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    """Nothing can write to a database open read-only (the servers' snapshots), so one reading of
    the statistics is enough there; a writable one is read again after the query."""
    path = tmp_path / "shop.serving.duckdb"
    writable = build_star_schema(duckdb.connect(str(path)))
    assert currency_statistics(writable, plan_of(semantic_layer, GROSS_SALES)).read_only is False
    writable.close()
    snapshot = duckdb.connect(str(path), read_only=True)
    statistics = currency_statistics(snapshot, plan_of(semantic_layer, GROSS_SALES))
    assert statistics == CurrencyStatistics(proven=(("order_line_item", "USD"),), read_only=True)
    answer = run_query(snapshot, semantic_layer, GROSS_SALES)
    assert answer.rows == [[Decimal(ALL_GROSS_SALES_IN_CENTS) / 100]]
    snapshot.close()
