"""Every catalogue metric against hand-written SQL on the star fixture (conftest.py).

The hand SQL is deliberately a different formulation from the compiler's: FILTER clauses, the
line fact's own denormalised order_source, explicit CTEs joined on the keys for metrics of two
facts. Money is compared in cents (the compiler answers dollars: all fixture shops are in USD).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pytest

from square_bi.semantic import MetricQuery, SemanticLayer, SemanticQueryError, run_query

LINE = {
    "gross_sales": "COALESCE(SUM(f.gross_sales_amount) FILTER (WHERE NOT f.is_return), 0)",
    "returns": "COALESCE(-SUM(f.gross_sales_amount) FILTER (WHERE f.is_return), 0)",
    "discounts": "SUM(f.discount_amount)",
    "net_sales": "SUM(f.gross_sales_amount) - SUM(f.discount_amount)",
    "taxes": "SUM(f.tax_amount)",
    "order_count": "COUNT(DISTINCT f.order_id) FILTER (WHERE NOT f.is_return)",
    "items_sold": "COALESCE(SUM(f.quantity) FILTER (WHERE NOT f.is_return), 0)",
    "unique_customers": "COUNT(DISTINCT f.customer_id) FILTER (WHERE NOT f.is_return)",
    "average_order_value": "ROUND((SUM(f.gross_sales_amount) - SUM(f.discount_amount)) "
    "/ NULLIF(COUNT(DISTINCT f.order_id) FILTER (WHERE NOT f.is_return), 0))",
    "items_per_order": "SUM(f.quantity) FILTER (WHERE NOT f.is_return) "
    "/ NULLIF(COUNT(DISTINCT f.order_id) FILTER (WHERE NOT f.is_return), 0)",
    "discount_rate": "SUM(f.discount_amount) / NULLIF(SUM(f.gross_sales_amount) FILTER (WHERE NOT f.is_return), 0)",
}
ORDER = {
    "tips": "SUM(o.tip_amount) FILTER (WHERE o.order_state = 'COMPLETED')",
    "processing_fees": "SUM(o.processing_fee_amount) FILTER (WHERE o.order_state = 'COMPLETED')",
}
MONEY = {"gross_sales", "returns", "discounts", "net_sales", "taxes", "tips", "processing_fees", "average_order_value"}
MONEY |= {"total_collected"}
# group-by name -> (line-fact expression, order-fact expression); joins are always made.
KEYS = {
    "location__name": ("l.name", "ol.name"),
    "metric_time__week": (
        "CAST(date_trunc('week', f.business_date) AS DATE)",
        "CAST(date_trunc('week', o.business_date) AS DATE)",
    ),
    "metric_time__month": (
        "CAST(date_trunc('month', f.business_date) AS DATE)",
        "CAST(date_trunc('month', o.business_date) AS DATE)",
    ),
    "order__source": ("f.order_source", "o.order_source"),
    "order__day_of_week": ("isodow(f.business_date)", "isodow(o.business_date)"),
    "item__category": ("i.category_name", None),
}
LINE_FROM = """FROM fct_order_line_item f JOIN dim_location l ON l.location_id = f.location_id
    LEFT JOIN dim_item i ON i.item_variation_id = f.item_variation_id"""
ORDER_FROM = "FROM fct_order o JOIN dim_location ol ON ol.location_id = o.location_id"


def hand(connection: duckdb.DuckDBPyConnection, metric: str, group_by: list[str], where: str = "") -> list[list[Any]]:
    keys_line = [KEYS[g][0] for g in group_by]
    keys_order = [KEYS[g][1] for g in group_by]
    if metric == "total_collected":
        return _hand_total(connection, group_by, keys_line, keys_order)
    fact = "line" if metric in LINE else "order"
    keys = keys_line if fact == "line" else keys_order
    value = LINE.get(metric) or ORDER[metric]
    select = ", ".join([*keys, value])
    grouped = f"GROUP BY {', '.join(str(k) for k in keys)}" if keys else ""
    ordered = f"ORDER BY {', '.join(str(i + 1) + ' NULLS LAST' for i in range(len(keys)))}" if keys else ""
    sql = f"SELECT {select} {LINE_FROM if fact == 'line' else ORDER_FROM} {where} {grouped} {ordered}"
    return [list(row) for row in connection.execute(sql).fetchall()]


def _hand_total(
    connection: duckdb.DuckDBPyConnection, group_by: list[str], line: list[Any], order: list[Any]
) -> list[list[Any]]:
    names = [f"k{i}" for i in range(len(group_by))]
    line_keys = "".join(f"{k} AS {n}, " for k, n in zip(line, names, strict=True))
    order_keys = "".join(f"{k} AS {n}, " for k, n in zip(order, names, strict=True))
    grouped = f"GROUP BY {', '.join(names)}" if names else ""
    on = " AND ".join(f"a.{n} = b.{n}" for n in names) or "true"
    sql = f"""
        WITH a AS (SELECT {line_keys} SUM(f.net_sales_amount) + SUM(f.tax_amount) AS v {LINE_FROM} {grouped}),
             b AS (SELECT {order_keys} {ORDER["tips"]} AS t {ORDER_FROM} {grouped})
        SELECT {"".join(f"a.{n}, " for n in names)} a.v + b.t FROM a JOIN b ON {on}
        ORDER BY {", ".join(f"a.{n}" for n in names) or "1"}"""
    return [list(row) for row in connection.execute(sql).fetchall()]


def normalise(rows: list[list[Any]], metric: str) -> list[list[Any]]:
    out = []
    for row in rows:
        *keys, value = row
        if metric in MONEY and value is not None:
            value = int(Decimal(value).scaleb(2)) if isinstance(value, Decimal) and metric not in {"x"} else value
        if isinstance(value, float | Decimal) and metric not in MONEY:
            value = round(float(value), 9)
        out.append([*keys, value])
    return out


def compiled(connection: duckdb.DuckDBPyConnection, layer: SemanticLayer, metric: str, **query: Any) -> list[list[Any]]:
    result = run_query(connection, layer, MetricQuery(metrics=[metric], **query))
    rows = []
    for row in result.rows:
        *keys, value = row
        if metric in MONEY and value is not None:
            value = int(value.scaleb(2))
        elif isinstance(value, float | Decimal):
            value = round(float(value), 9)
        rows.append([*keys, value])
    return rows


def hand_rows(
    connection: duckdb.DuckDBPyConnection, metric: str, group_by: list[str], where: str = ""
) -> list[list[Any]]:
    rows = hand(connection, metric, group_by, where)
    out = []
    for row in rows:
        *keys, value = row
        if metric in MONEY and value is not None:
            value = int(value)
        elif isinstance(value, float | Decimal):
            value = round(float(value), 9)
        out.append([*keys, value])
    return out


CATALOGUE = [*LINE, *ORDER, "total_collected"]
GROUPINGS = [[], ["location__name"], ["metric_time__week"], ["order__source"], ["order__day_of_week"]]


@pytest.mark.parametrize("group_by", GROUPINGS, ids=lambda g: "+".join(g) or "total")
@pytest.mark.parametrize("metric", CATALOGUE)
def test_each_metric_equals_hand_written_sql(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, metric: str, group_by: list[str]
) -> None:
    assert compiled(warehouse, semantic_layer, metric, group_by=group_by) == hand_rows(warehouse, metric, group_by)


@pytest.mark.parametrize("metric", list(LINE))
def test_line_metrics_by_item_category_equal_hand_written_sql(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer, metric: str
) -> None:
    group_by = ["item__category", "metric_time__month"]
    assert compiled(warehouse, semantic_layer, metric, group_by=group_by) == hand_rows(warehouse, metric, group_by)


FILTERS = [
    (
        {"dimension": "location__name", "op": "in", "values": ["Mission Cafe", "Honolulu Kiosk"]},
        "WHERE l.name IN ('Mission Cafe', 'Honolulu Kiosk')",
        "WHERE ol.name IN ('Mission Cafe', 'Honolulu Kiosk')",
    ),
    (
        {"dimension": "order__source", "op": "=", "value": "Online"},
        "WHERE f.order_source = 'Online'",
        "WHERE o.order_source = 'Online'",
    ),
    (
        {"dimension": "order__source", "op": "!=", "value": "Online"},
        "WHERE f.order_source <> 'Online'",
        "WHERE o.order_source <> 'Online'",
    ),
    (
        {"dimension": "metric_time__day", "op": "between", "values": ["2024-03-01", "2024-03-10"]},
        "WHERE f.business_date BETWEEN '2024-03-01' AND '2024-03-10'",
        "WHERE o.business_date BETWEEN '2024-03-01' AND '2024-03-10'",
    ),
    (
        {"dimension": "location__name", "op": "like", "value": "%Cafe"},
        "WHERE l.name LIKE '%Cafe'",
        "WHERE ol.name LIKE '%Cafe'",
    ),
    (
        {"dimension": "order__day_of_week", "op": ">=", "value": 6},
        "WHERE isodow(f.business_date) >= 6",
        "WHERE isodow(o.business_date) >= 6",
    ),
    (
        {"dimension": "location__name", "op": "not_in", "values": ["Mission Cafe"]},
        "WHERE l.name NOT IN ('Mission Cafe')",
        "WHERE ol.name NOT IN ('Mission Cafe')",
    ),
]


@pytest.mark.parametrize(
    ("where", "line_sql", "order_sql"), FILTERS, ids=lambda f: f["op"] if isinstance(f, dict) else ""
)
@pytest.mark.parametrize("metric", ["net_sales", "order_count", "average_order_value", "tips", "discount_rate"])
def test_filtered_metrics_equal_hand_written_sql(
    warehouse: duckdb.DuckDBPyConnection,
    semantic_layer: SemanticLayer,
    metric: str,
    where: dict[str, Any],
    line_sql: str,
    order_sql: str,
) -> None:
    group_by = ["location__name"]
    expected = hand_rows(warehouse, metric, group_by, line_sql if metric in LINE else order_sql)
    assert compiled(warehouse, semantic_layer, metric, group_by=group_by, where=[where]) == expected


def test_start_and_end_keep_business_dates_inclusive(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    rows = compiled(
        warehouse, semantic_layer, "net_sales", group_by=["metric_time__week"], start="2024-03-01", end="2024-03-11"
    )
    expected = hand_rows(
        warehouse, "net_sales", ["metric_time__week"], "WHERE f.business_date BETWEEN '2024-03-01' AND '2024-03-11'"
    )
    assert rows == expected


def test_two_facts_by_one_dimension_are_aggregated_apart_so_nothing_fans_out(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = run_query(
        warehouse,
        semantic_layer,
        MetricQuery(metrics=["gross_sales", "tips", "order_count"], group_by=["location__name"]),
    )
    by_location = {row[0]: row[1:] for row in result.rows}
    for name, gross, tips, orders in [
        (r[0], r[1], None, None) for r in hand_rows(warehouse, "gross_sales", ["location__name"])
    ]:
        assert by_location[name][0] * 100 == gross
        del tips, orders
    tips = dict((r[0], r[1]) for r in hand_rows(warehouse, "tips", ["location__name"]))
    assert {k: int(v[1] * 100) for k, v in by_location.items()} == tips
    # a naive join of the two facts would count each order's tip once per line
    naive = warehouse.execute(
        "SELECT SUM(o.tip_amount) FROM fct_order_line_item f JOIN fct_order o USING (order_id) WHERE NOT f.is_return"
    ).fetchone()
    assert naive is not None and naive[0] > sum(tips.values())


def test_a_dimension_one_fact_cannot_reach_is_refused_with_the_reason(
    semantic_layer: SemanticLayer, warehouse: duckdb.DuckDBPyConnection
) -> None:
    with pytest.raises(SemanticQueryError, match=r"Cannot group by 'item__category' for \['tips'\].*order"):
        run_query(warehouse, semantic_layer, MetricQuery(metrics=["gross_sales", "tips"], group_by=["item__category"]))
    with pytest.raises(SemanticQueryError, match=r"Cannot filter on 'item__name' for \['total_collected'\]"):
        run_query(
            warehouse,
            semantic_layer,
            MetricQuery(metrics=["total_collected"], where=[{"dimension": "item__name", "value": "Latte"}]),
        )


def test_a_misspelt_filter_dimension_suggests_the_nearest(
    semantic_layer: SemanticLayer, warehouse: duckdb.DuckDBPyConnection
) -> None:
    with pytest.raises(
        SemanticQueryError, match=r"Unknown filter dimension 'order__sorce'.*Did you mean 'order__source'"
    ):
        run_query(
            warehouse,
            semantic_layer,
            MetricQuery(metrics=["net_sales"], where=[{"dimension": "order__sorce", "value": "POS"}]),
        )


def test_week_over_week_compares_each_week_with_the_week_before(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    weeks = dict(hand_rows(warehouse, "net_sales", ["metric_time__week"]))  # type: ignore[arg-type]
    result = run_query(
        warehouse, semantic_layer, MetricQuery(metrics=["net_sales_week_over_week"], group_by=["metric_time__week"])
    )
    expected = []
    for week, value in sorted(weeks.items()):
        before = weeks.get(week - __import__("datetime").timedelta(days=7))
        expected.append([week, None if before is None else (value - before) / before])
    assert [[w, None if v is None else round(v, 9)] for w, v in result.rows] == [
        [w, None if v is None else round(v, 9)] for w, v in expected
    ]
    assert any("1 week earlier" in note for note in result.notes)


def test_week_over_week_needs_metric_time_by_day_or_week(
    semantic_layer: SemanticLayer, warehouse: duckdb.DuckDBPyConnection
) -> None:
    with pytest.raises(SemanticQueryError, match="metric_time__day, metric_time__week"):
        run_query(
            warehouse,
            semantic_layer,
            MetricQuery(metrics=["net_sales_week_over_week"], group_by=["metric_time__month"]),
        )


def test_month_to_date_by_day_is_the_running_total_within_each_month(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    expected = warehouse.execute(
        """SELECT d.date_day, SUM(f.net_sales_amount)
           FROM dim_date d JOIN fct_order_line_item f
             ON f.business_date <= d.date_day AND f.business_date >= date_trunc('month', d.date_day)
           WHERE d.date_day <= (SELECT max(business_date) FROM fct_order_line_item)
           GROUP BY d.date_day ORDER BY 1"""
    ).fetchall()
    result = run_query(
        warehouse, semantic_layer, MetricQuery(metrics=["net_sales_month_to_date"], group_by=["metric_time__day"])
    )
    assert [[day, int(value.scaleb(2))] for day, value in result.rows] == [[d, int(v)] for d, v in expected]


def test_month_to_date_by_month_reports_the_last_day_of_each_month_not_the_first(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    months = hand_rows(warehouse, "net_sales", ["metric_time__month"])
    result = run_query(
        warehouse, semantic_layer, MetricQuery(metrics=["net_sales_month_to_date"], group_by=["metric_time__month"])
    )
    assert [[m, int(v.scaleb(2))] for m, v in result.rows] == months
    assert any("LAST day" in note and "NOT a total" in note for note in result.notes)


def test_month_to_date_with_a_start_still_counts_the_month_before_the_start(
    warehouse: duckdb.DuckDBPyConnection, semantic_layer: SemanticLayer
) -> None:
    result = run_query(
        warehouse,
        semantic_layer,
        MetricQuery(metrics=["net_sales_month_to_date"], start="2024-03-10", end="2024-03-10"),
    )
    [[value]] = result.rows
    [[expected]] = warehouse.execute(
        "SELECT SUM(net_sales_amount) FROM fct_order_line_item "
        "WHERE business_date BETWEEN '2024-03-01' AND '2024-03-10'"
    ).fetchall()
    assert int(value.scaleb(2)) == expected
