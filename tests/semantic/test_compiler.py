from __future__ import annotations

from typing import Any

import pydantic
import pytest
from sqlglot import exp

from square_bi.errors import SemanticError
from square_bi.semantic import (
    PASSES,
    MetricQuery,
    SemanticLayer,
    UnknownNameError,
    UnsupportedQueryError,
    compile_query,
    load_semantic_layer,
    run_query,
    to_sql,
)
from square_bi.semantic.sql import for_dialect


def tables_of(select: exp.Select) -> dict[str, str]:
    """alias -> table name of every table the SELECT reads."""
    return {table.alias_or_name: table.name for table in select.find_all(exp.Table)}


def output_names(select: exp.Select) -> list[str]:
    return [projection.alias_or_name for projection in select.expressions]


def node_of(select: exp.Select) -> exp.Select:
    """The one aggregation (node) a single-fact query reads from."""
    node = select.args["from_"].this.this
    assert isinstance(node, exp.Select)
    return node


CURRENCY_COLUMNS = [
    "__order_line_item__currency",
    "__order_line_item__currency_low",
    "__order_line_item__currency_high",
]


def test_compile_query_returns_a_sqlglot_select_tree(semantic_layer: SemanticLayer) -> None:
    select = compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"]))
    assert isinstance(select, exp.Select)
    assert output_names(select) == ["gross_sales", *CURRENCY_COLUMNS]


def test_money_queries_end_with_each_groups_lowest_and_highest_currency(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(metrics=["gross_sales", "order_count"], group_by=["location__name"])
    select = compile_query(semantic_layer, query)
    assert output_names(select) == ["location__name", "gross_sales", "order_count", *CURRENCY_COLUMNS]
    code, low, high = (projection.this for projection in node_of(select).expressions[-3:])
    assert isinstance(code, exp.AnyValue) and isinstance(low, exp.Min) and isinstance(high, exp.Max)
    for column in (code.this, *(a.find(exp.Anonymous).expressions[0] for a in (low, high))):
        assert (column.table, column.name) == ("order_line_item", "currency")


def test_queries_without_money_carry_no_currency_columns(semantic_layer: SemanticLayer) -> None:
    select = compile_query(semantic_layer, MetricQuery(metrics=["order_count"], group_by=["location__name"]))
    assert output_names(select) == ["location__name", "order_count"]


def test_the_compiler_is_a_tuple_of_small_passes() -> None:
    assert isinstance(PASSES, tuple)
    assert [p.__name__ for p in PASSES] == [
        "from_nodes",
        "select_dimensions",
        "select_metrics",
        "select_currencies",
        "order_rows",
        "limit_rows",
    ]


def test_a_query_without_dimensions_reads_only_the_fact_table(semantic_layer: SemanticLayer) -> None:
    select = compile_query(semantic_layer, MetricQuery(metrics=["gross_sales", "order_count"]))
    assert tables_of(select) == {"order_line_item": "fct_order_line_item"}
    assert not node_of(select).args.get("joins")
    assert not node_of(select).args.get("group")


def test_a_query_without_item_dimensions_does_not_join_dim_item(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(metrics=["gross_sales"], group_by=["location__name", "metric_time__week"])
    select = compile_query(semantic_layer, query)
    assert tables_of(select) == {"order_line_item": "fct_order_line_item", "location": "dim_location"}
    [join] = node_of(select).args["joins"]
    assert join.side == "LEFT"
    assert join.this.name == "dim_location"


def test_item_and_location_dimensions_join_each_table_once(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(
        metrics=["order_count"], group_by=["item__category", "item__name", "location__name", "location__city"]
    )
    select = compile_query(semantic_layer, query)
    joined = [join.this.name for join in node_of(select).args["joins"]]
    assert sorted(joined) == ["dim_item", "dim_location"]
    on = {join.this.name: join.args["on"] for join in node_of(select).args["joins"]}
    item_on = on["dim_item"]
    assert isinstance(item_on, exp.EQ)
    assert {(c.table, c.name) for c in item_on.find_all(exp.Column)} == {
        ("order_line_item", "item_variation_id"),
        ("item", "item_variation_id"),
    }


def test_fact_dimensions_need_no_join(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(metrics=["gross_sales"], group_by=["order_line_item__item_type", "metric_time__month"])
    select = compile_query(semantic_layer, query)
    assert tables_of(select) == {"order_line_item": "fct_order_line_item"}
    assert output_names(select) == [
        "order_line_item__item_type",
        "metric_time__month",
        "gross_sales",
        *CURRENCY_COLUMNS,
    ]


def test_metric_time_by_week_truncates_business_date_to_a_date(semantic_layer: SemanticLayer) -> None:
    select = compile_query(semantic_layer, MetricQuery(metrics=["order_count"], group_by=["metric_time__week"]))
    projection = node_of(select).expressions[0]
    assert projection.alias == "metric_time__week"
    cast = projection.this
    assert isinstance(cast, exp.Cast) and cast.to.is_type(exp.DataType.Type.DATE)
    trunc = cast.this
    assert isinstance(trunc, exp.DateTrunc)
    assert trunc.text("unit").upper() == "WEEK"
    assert (trunc.this.table, trunc.this.name) == ("order_line_item", "business_date")


def test_money_leaves_duckdb_as_whole_minor_units_in_a_rounded_hugeint(semantic_layer: SemanticLayer) -> None:
    select = compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"]))
    money = node_of(select).expressions[0].this
    assert isinstance(money, exp.Cast) and money.to.is_type(exp.DataType.Type.INT128)
    assert isinstance(money.this, exp.Round) and isinstance(money.this.this, exp.Sum)
    assert not list(select.find_all(exp.Mul)) and not list(select.find_all(exp.Div))


def test_money_leaves_other_dialects_as_whole_minor_units_in_a_decimal_cast(semantic_layer: SemanticLayer) -> None:
    select = for_dialect(compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"])), "postgres")
    money = node_of(select).expressions[0].this
    assert isinstance(money, exp.Cast) and money.to.is_type(exp.DataType.Type.DECIMAL)
    assert [param.this for param in money.to.expressions] == [exp.Literal.number(38), exp.Literal.number(0)]
    assert isinstance(money.this, exp.Sum)


def test_the_sql_says_money_columns_are_minor_units(semantic_layer: SemanticLayer) -> None:
    sql = to_sql(compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"])))
    assert "AS gross_sales /* whole minor units (e.g. cents) of the row's currency */" in sql


def test_order_count_counts_distinct_orders(semantic_layer: SemanticLayer) -> None:
    select = compile_query(semantic_layer, MetricQuery(metrics=["order_count"]))
    count = node_of(select).expressions[0].this
    assert isinstance(count, exp.Count)
    assert isinstance(count.this, exp.Distinct)


def test_order_by_and_limit_follow_the_query_then_the_group_bys(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(
        metrics=["gross_sales"], group_by=["location__name", "metric_time__week"], order_by=["-gross_sales"], limit=3
    )
    select = compile_query(semantic_layer, query)
    order = [(o.this.name, bool(o.args.get("desc"))) for o in select.args["order"].expressions]
    assert order == [("gross_sales", True), ("location__name", False), ("metric_time__week", False)]
    assert select.args["limit"].expression == exp.Literal.number(3)


def test_order_by_accepts_the_bare_metric_time_alias(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(metrics=["gross_sales"], group_by=["metric_time"], order_by=["-metric_time"])
    select = compile_query(semantic_layer, query)
    assert output_names(select) == ["metric_time__day", "gross_sales", *CURRENCY_COLUMNS]
    assert [(o.this.name, bool(o.args.get("desc"))) for o in select.args["order"].expressions] == [
        ("metric_time__day", True)
    ]


def test_to_sql_renders_duckdb_by_default_and_other_dialects_on_request(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(metrics=["order_count"], group_by=["location__name"], order_by=["-order_count"])
    select = compile_query(semantic_layer, query)
    duckdb_sql = to_sql(select)
    assert duckdb_sql.startswith('SELECT location__name, order_count AS order_count FROM (SELECT "location".name AS')
    assert 'LEFT JOIN main.dim_location AS "location"' in duckdb_sql
    assert duckdb_sql.endswith("ORDER BY order_count DESC, location__name ASC")
    # Postgres sorts NULLs first when descending: the NULL placement is kept explicit.
    assert to_sql(select, "postgres").endswith("ORDER BY order_count DESC NULLS LAST, location__name ASC")


# -- names are checked before anything is built -----------------------------------------------


def test_an_unknown_metric_lists_the_valid_ones_and_suggests_the_nearest(semantic_layer: SemanticLayer) -> None:
    with pytest.raises(UnknownNameError) as raised:
        compile_query(semantic_layer, MetricQuery(metrics=["gross_sale"]))
    message = str(raised.value)
    assert "Unknown metric 'gross_sale'" in message
    assert "'gross_sales', 'items_per_order'" in message
    assert "Did you mean 'gross_sales'" in message
    assert isinstance(raised.value, SemanticError)


def test_a_synonym_used_as_a_metric_name_points_at_the_metric(semantic_layer: SemanticLayer) -> None:
    with pytest.raises(UnknownNameError, match="'revenue' is a synonym of 'gross_sales'"):
        compile_query(semantic_layer, MetricQuery(metrics=["revenue"]))


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("location__nam", "location__name"),
        ("location_name", "location__name"),
        ("metric_time__weak", "metric_time__week"),
    ],
)
def test_an_unknown_dimension_lists_the_valid_ones_and_suggests_the_nearest(
    semantic_layer: SemanticLayer, name: str, suggestion: str
) -> None:
    with pytest.raises(UnknownNameError) as raised:
        compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"], group_by=[name]))
    message = str(raised.value)
    assert f"Unknown group_by dimension {name!r}" in message
    assert f"Did you mean '{suggestion}'" in message
    assert "'item__category'" in message and "'metric_time__month'" in message


def test_a_metric_in_group_by_is_pointed_back_to_metrics(semantic_layer: SemanticLayer) -> None:
    with pytest.raises(UnknownNameError, match="'order_count' is a metric: put it in metrics"):
        compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"], group_by=["order_count"]))


def test_order_by_must_name_a_selected_metric_or_group_by(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(metrics=["gross_sales"], group_by=["location__name"], order_by=["-order_count"])
    with pytest.raises(UnknownNameError) as raised:
        compile_query(semantic_layer, query)
    assert "Declared: ['gross_sales', 'location__name']" in str(raised.value)


def test_names_are_matched_ignoring_case_and_surrounding_spaces(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(metrics=[" Gross_Sales "], group_by=["Location__Name"], order_by=["-GROSS_SALES"])
    assert output_names(compile_query(semantic_layer, query)) == ["location__name", "gross_sales", *CURRENCY_COLUMNS]


HOSTILE = [
    "gross_sales; drop table x",
    'gross_sales"; DROP TABLE x; --',
    "gross_sales'",
    '"gross_sales"',
    "gross_sales) --",
    "1=1",
]


class RecordingConnection:
    """Stands in for a DuckDB connection and records every statement it is asked to run."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        raise AssertionError("no SQL may run for a rejected query")


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("field", ["metrics", "group_by", "order_by"])
def test_hostile_names_are_rejected_before_any_sql_is_built_or_run(
    semantic_layer: SemanticLayer, hostile: str, field: str
) -> None:
    fields: dict[str, Any] = {"metrics": ["gross_sales"], "group_by": ["location__name"]}
    fields[field] = [hostile]
    query = MetricQuery(**fields)
    connection = RecordingConnection()
    with pytest.raises(UnknownNameError):
        run_query(connection, semantic_layer, query)  # type: ignore[arg-type]
    assert connection.statements == []


def test_a_metric_the_compiler_cannot_answer_yet_says_why(semantic_copy: Any) -> None:
    path = semantic_copy / "metrics.yml"
    text = path.read_text().replace(
        "    type: simple\n", "    type: simple\n    filter: \"{{ Dimension('location__name') }} = 'x'\"\n", 1
    )
    path.write_text(text)
    layer = load_semantic_layer(semantic_copy)
    with pytest.raises(UnsupportedQueryError, match="'gross_sales' cannot be answered yet: metric filters"):
        compile_query(layer, MetricQuery(metrics=["gross_sales"]))


# -- the request model ------------------------------------------------------------------------


def test_metric_query_accepts_lists_sent_as_json_or_comma_separated_strings() -> None:
    query = MetricQuery.model_validate(
        {"metrics": '["gross_sales", "order_count"]', "group_by": "location__name, metric_time__week"}
    )
    assert query.metrics == ["gross_sales", "order_count"]
    assert query.group_by == ["location__name", "metric_time__week"]


@pytest.mark.parametrize(
    "fields",
    [{"metrics": []}, {"metrics": ["gross_sales"], "limit": 0}, {"metrics": ["gross_sales"], "where": "1=1"}],
)
def test_metric_query_refuses_no_metrics_a_non_positive_limit_and_unknown_fields(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        MetricQuery.model_validate(fields)


# -- execution-cost rewrites (bench/bench_semantic.py) ------------------------------------------


def test_order_source_of_a_line_item_metric_is_the_lines_declared_copy_not_a_join(
    semantic_layer: SemanticLayer,
) -> None:
    query = MetricQuery(metrics=["items_sold"], where=[{"dimension": "order__source", "value": "Online"}])
    assert "fct_order" not in tables_of(compile_query(semantic_layer, query)).values()
    tips = MetricQuery(metrics=["tips"], group_by=["order__source"])  # the order fact's own column
    assert "order_source" in to_sql(compile_query(semantic_layer, tips))


def test_other_order_dimensions_of_a_line_item_metric_still_join_the_order(semantic_layer: SemanticLayer) -> None:
    query = MetricQuery(metrics=["items_sold"], group_by=["order__state"])
    assert "fct_order" in tables_of(compile_query(semantic_layer, query)).values()


def test_week_over_week_aggregates_the_fact_once_and_joins_the_result_to_itself(semantic_layer: SemanticLayer) -> None:
    select = compile_query(
        semantic_layer, MetricQuery(metrics=["net_sales_week_over_week"], group_by=["metric_time__week"])
    )
    assert [t.name for t in select.find_all(exp.Table)].count("fct_order_line_item") == 1
    cut = MetricQuery(metrics=["net_sales_week_over_week"], group_by=["metric_time__week"], start="2024-03-06")
    tables = [t.name for t in compile_query(semantic_layer, cut).find_all(exp.Table)]
    assert tables.count("fct_order_line_item") == 2  # a cut first week: each period scanned on its own


def test_additive_measures_are_aggregated_before_the_dimension_join(semantic_layer: SemanticLayer) -> None:
    select = compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"], group_by=["location__name"]))
    inner = node_of(select).args["from_"].this.this
    assert isinstance(inner, exp.Select) and not inner.args.get("joins")
    distinct = compile_query(semantic_layer, MetricQuery(metrics=["order_count"], group_by=["location__name"]))
    assert node_of(distinct).args.get("joins")  # count_distinct: partial counts would not add up


@pytest.mark.parametrize(
    ("dialect", "hashed"),
    [("duckdb", "HASH("), ("snowflake", "HASH("), ("databricks", "HASH("), ("bigquery", "FARM_FINGERPRINT(")],
)
def test_the_currency_check_hashes_codes_with_the_dialects_own_function(
    semantic_layer: SemanticLayer, dialect: str, hashed: str
) -> None:
    sql = to_sql(compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"])), dialect)
    assert hashed in sql
    plain = to_sql(compile_query(semantic_layer, MetricQuery(metrics=["gross_sales"])), "postgres")
    assert "HASH" not in plain.upper() and "MIN(CASE WHEN NOT" in plain  # MIN / MAX of the codes themselves
