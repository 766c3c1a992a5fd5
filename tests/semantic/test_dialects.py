"""Golden SQL per dialect: the same plan rendered for each warehouse, and parsed back by sqlglot.

The fixtures in ``fixtures/<dialect>/<case>.sql`` were rendered once and read by hand; rerun with
``SQUARE_BI_UPDATE_GOLDEN=1`` after a deliberate compiler change and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from square_bi.semantic import MetricQuery, SemanticLayer, compile_query, to_sql

FIXTURES = Path(__file__).parent / "fixtures"
DIALECTS = ["duckdb", "snowflake", "bigquery", "postgres", "databricks"]
CASES: dict[str, dict[str, Any]] = {
    "simple_by_week": {"metrics": ["gross_sales", "order_count"], "group_by": ["metric_time__week"]},
    "two_facts_by_location_filtered": {
        "metrics": ["total_collected", "average_order_value"],
        "group_by": ["location__name"],
        "where": [{"dimension": "order__source", "op": "in", "values": ["POS", "Online"]}],
        "start": "2024-03-01",
        "end": "2024-03-31",
        "order_by": ["-total_collected"],
        "limit": 10,
    },
    "week_over_week": {"metrics": ["net_sales_week_over_week"], "group_by": ["metric_time__week"]},
    "month_to_date_by_month": {
        "metrics": ["net_sales_month_to_date"],
        "group_by": ["metric_time__month", "location__name"],
    },
    "ratio_by_item_category": {
        "metrics": ["discount_rate", "items_per_order"],
        "group_by": ["item__category"],
        "where": [{"dimension": "order__day_of_week", "op": "between", "values": [6, 7]}],
    },
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", list(CASES))
def test_each_dialect_renders_the_golden_sql_and_parses_it_back(
    semantic_layer: SemanticLayer, case: str, dialect: str
) -> None:
    sql = to_sql(compile_query(semantic_layer, MetricQuery(**CASES[case])), dialect, pretty=True) + "\n"
    path = FIXTURES / dialect / f"{case}.sql"
    if os.environ.get("SQUARE_BI_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    assert sql == path.read_text()
    parsed = sqlglot.parse_one(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    compiled = compile_query(semantic_layer, MetricQuery(**CASES[case]))
    assert isinstance(parsed, sqlglot.exp.Select)
    assert parsed.named_selects == compiled.named_selects
    assert len(list(parsed.find_all(sqlglot.exp.Select))) == len(list(compiled.find_all(sqlglot.exp.Select)))
