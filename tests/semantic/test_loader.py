from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from square_bi.errors import SemanticError
from square_bi.semantic import (
    DimensionGroupBy,
    MetricTimeGroupBy,
    SemanticLayer,
    SemanticYamlError,
    TimeGrain,
    Unit,
    default_semantic_dir,
    load_semantic_layer,
)

BreakYaml = Callable[[str, str, str], int]


def test_default_semantic_dir_is_the_semantic_folder_at_the_repo_root() -> None:
    repo_root = Path(__file__).resolve().parents[2]
    assert default_semantic_dir() == repo_root / "semantic"


def test_the_repo_yaml_declares_gross_sales_and_order_count_with_labels_units_and_synonyms(
    semantic_layer: SemanticLayer,
) -> None:
    assert set(semantic_layer.metrics) == {
        "gross_sales",
        "returns",
        "discounts",
        "net_sales",
        "taxes",
        "tips",
        "processing_fees",
        "total_collected",
        "order_count",
        "items_sold",
        "average_order_value",
        "items_per_order",
        "unique_customers",
        "discount_rate",
        "net_sales_week_over_week",
        "net_sales_month_to_date",
        "refunds",
        "payments_total",
        "card_payments",
        "payment_tips",
        "payment_processing_fees",
        "new_customers",
        "returning_customers",
        "returning_customer_rate",
    }
    gross_sales = semantic_layer.metrics["gross_sales"]
    assert (gross_sales.label, gross_sales.unit, gross_sales.measure) == (
        "Gross sales",
        Unit.MONEY,
        "gross_sales_amount",
    )
    assert "revenue" in gross_sales.synonyms
    assert "is_return is false" in gross_sales.description
    order_count = semantic_layer.metrics["order_count"]
    assert (order_count.unit, order_count.measure) == (Unit.COUNT, "order_count")
    assert "distinct order_id" in order_count.description
    assert gross_sales.unsupported is None and order_count.unsupported is None


def test_the_money_measure_is_marked_money_and_names_its_currency_dimension(semantic_layer: SemanticLayer) -> None:
    measure = semantic_layer.measures["gross_sales_amount"]
    assert measure.unit is Unit.MONEY
    assert measure.currency_dimension == "currency"
    assert measure.semantic_model == "order_line_item"
    assert measure.agg_time_dimension == "business_date"


def test_semantic_models_point_at_the_star_schema_tables_in_main(semantic_layer: SemanticLayer) -> None:
    tables = {name: (m.schema, m.table) for name, m in semantic_layer.semantic_models.items()}
    assert tables == {
        "order_line_item": ("main", "fct_order_line_item"),
        "location": ("main", "dim_location"),
        "item": ("main", "dim_item"),
        "order": ("main", "fct_order"),
        "customer": ("main", "dim_customer"),
        "team_member": ("main", "dim_team_member"),
        "payment": ("main", "fct_payment"),
        "refund": ("main", "fct_refund"),
    }


def test_the_time_spine_is_dim_date_date_day_at_day_grain(semantic_layer: SemanticLayer) -> None:
    spine = semantic_layer.time_spine
    assert spine is not None
    assert (spine.schema, spine.table, spine.column, spine.grain) == ("main", "dim_date", "date_day", TimeGrain.DAY)


def test_dimensions_of_the_fact_location_and_item_are_reachable_as_dunder_paths(
    semantic_layer: SemanticLayer,
) -> None:
    names = set(semantic_layer.group_bys_for(["gross_sales", "order_count"]))
    assert names == {
        "metric_time__day",
        "metric_time__week",
        "metric_time__month",
        "metric_time__quarter",
        "metric_time__year",
        "order_line_item__business_date__day",
        "order_line_item__business_date__week",
        "order_line_item__business_date__month",
        "order_line_item__business_date__quarter",
        "order_line_item__business_date__year",
        "order_line_item__item_type",
        "order_line_item__is_return",
        "order_line_item__currency",
        "location__name",
        "location__city",
        "location__timezone",
        "location__status",
        "location__currency",
        "item__name",
        "item__variation_name",
        "item__category",
        *(f"order__business_date__{grain}" for grain in ("day", "week", "month", "quarter", "year")),
        "order__hour_of_day",
        "order__day_of_week",
        "order__source",
        "order__state",
        "order__currency",
        *(f"order__location__{name}" for name in ("name", "city", "timezone", "status", "currency")),
        # Customers and team members, through the line's (and the order's) foreign keys.
        *(
            f"{prefix}{name}"
            for prefix in ("customer__", "order__customer__")
            for name in (
                "name",
                "creation_source",
                *(f"cohort_month__{grain}" for grain in ("month", "quarter", "year")),
                *(f"first_order_date__{grain}" for grain in ("day", "week", "month", "quarter", "year")),
            )
        ),
        *(f"{prefix}{name}" for prefix in ("team_member__", "order__team_member__") for name in ("name", "status")),
    }


def test_location_name_is_one_join_away_through_the_location_entity(semantic_layer: SemanticLayer) -> None:
    location_name = semantic_layer.group_bys["order_line_item"]["location__name"]
    assert isinstance(location_name, DimensionGroupBy)
    assert [(s.entity, s.from_model, s.to_model) for s in location_name.path] == [
        ("location", "order_line_item", "location")
    ]
    item_category = semantic_layer.group_bys["order_line_item"]["item__category"]
    assert isinstance(item_category, DimensionGroupBy)
    assert item_category.dimension.semantic_model == "item"


def test_bare_metric_time_means_metric_time_by_day(semantic_layer: SemanticLayer) -> None:
    bare = semantic_layer.group_bys["order_line_item"]["metric_time"]
    assert bare == MetricTimeGroupBy("metric_time__day", TimeGrain.DAY)


# -- broken copies ----------------------------------------------------------------------------

BROKEN_CASES = [
    pytest.param(
        "metrics.yml",
        "measure: gross_sales_amount",
        "measure: gross_sale_amount",
        ["Unknown measure 'gross_sale_amount'", "Did you mean 'gross_sales_amount'"],
        id="unknown measure in a metric",
    ),
    pytest.param(
        "order_line_items.yml",
        "agg: sum",
        "agg: summ",
        ["'summ'", "count_distinct", "Did you mean 'sum'"],
        id="wrong agg",
    ),
    pytest.param(
        "order_line_items.yml",
        "    dimensions:",
        "    dimensionz:",
        ["Unknown key 'dimensionz'", "Did you mean 'dimensions'"],
        id="misspelt key",
    ),
    pytest.param(
        "locations.yml",
        "type: primary",
        "type: primry",
        ["'primry'", "Did you mean 'primary'"],
        id="misspelt entity type",
    ),
    pytest.param(
        "metrics.yml",
        "unit: money",
        "unit: mony",
        ["Unknown unit 'mony'", "Did you mean 'money'"],
        id="misspelt unit in meta",
    ),
    pytest.param(
        "order_line_items.yml",
        "agg_time_dimension: business_date",
        "agg_time_dimension: busines_date",
        ["'busines_date'", "Did you mean 'business_date'"],
        id="misspelt agg_time_dimension",
    ),
    pytest.param(
        "order_line_items.yml",
        "currency_dimension: currency",
        "currency_dimension: curency",
        ["currency_dimension", "Did you mean 'currency'"],
        id="misspelt currency dimension",
    ),
    pytest.param(
        "locations.yml",
        "semantic_models:",
        "semantic_model:",
        ["Unknown top-level key 'semantic_model'", "Did you mean 'semantic_models'"],
        id="misspelt top-level key",
    ),
    pytest.param(
        "items.yml",
        "model: ref('dim_item')",
        "model: dim_item",
        ["model: ref('<table>')"],
        id="model without ref",
    ),
    pytest.param(
        "items.yml",
        "expr: category_name",
        "expr: category_name +",
        ["not valid SQL"],
        id="expr that does not parse",
    ),
    pytest.param(
        "items.yml",
        "expr: category_name",
        "expr: (select max(x) from y)",
        ["not a query or statement"],
        id="expr with a subquery",
    ),
    pytest.param(
        "metrics.yml",
        "  - name: order_count",
        "  - name: Order Count",
        ["'Order Count' is not a valid `name`"],
        id="name that is not snake case",
    ),
    pytest.param(
        "locations.yml",
        "      - name: city",
        "      - name: name",
        ["can't use name `name`"],
        id="duplicate dimension found by dbt-semantic-interfaces",
    ),
]


@pytest.mark.parametrize(("file_name", "old", "new", "fragments"), BROKEN_CASES)
def test_a_broken_copy_raises_a_semantic_error_naming_the_file_line_and_nearest_name(
    break_yaml: BreakYaml, semantic_copy: Path, file_name: str, old: str, new: str, fragments: list[str]
) -> None:
    line = break_yaml(file_name, old, new)
    with pytest.raises(SemanticYamlError) as raised:
        load_semantic_layer(semantic_copy)
    assert isinstance(raised.value, SemanticError)
    [issue] = raised.value.issues
    assert (issue.file, issue.line) == (semantic_copy / file_name, line)
    message = str(raised.value)
    assert f"{file_name}:{line}:" in message
    for fragment in fragments:
        assert fragment in message


def test_every_schema_problem_is_reported_at_once(break_yaml: BreakYaml, semantic_copy: Path) -> None:
    agg_line = break_yaml("order_line_items.yml", "agg: sum", "agg: summ")
    type_line = break_yaml("items.yml", "type: categorical", "type: categoricl")
    with pytest.raises(SemanticYamlError) as raised:
        load_semantic_layer(semantic_copy)
    located = {(issue.file.name if issue.file else None, issue.line) for issue in raised.value.issues}
    assert located == {("order_line_items.yml", agg_line), ("items.yml", type_line)}


def test_invalid_yaml_syntax_names_the_file_and_line(semantic_copy: Path) -> None:
    path = semantic_copy / "metrics.yml"
    path.write_text("metrics:\n  - name: gross_sales\n    label: [unclosed\n")
    with pytest.raises(SemanticYamlError, match=r"metrics\.yml:\d+: is not valid YAML"):
        load_semantic_layer(semantic_copy)


def test_a_folder_without_a_time_spine_is_refused(semantic_copy: Path) -> None:
    (semantic_copy / "time_spine.yml").unlink()
    with pytest.raises(SemanticYamlError, match="declares no time spine"):
        load_semantic_layer(semantic_copy)


def test_a_folder_without_yaml_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SemanticYamlError, match=r"holds no \*\.yml"):
        load_semantic_layer(tmp_path)


def test_a_metric_with_a_filter_loads_but_is_marked_unsupported(semantic_copy: Path) -> None:
    path = semantic_copy / "metrics.yml"
    text = path.read_text().replace(
        "    type: simple\n", "    type: simple\n    filter: \"{{ Dimension('location__name') }} = 'x'\"\n", 1
    )
    path.write_text(text)
    layer = load_semantic_layer(semantic_copy)
    assert layer.metrics["gross_sales"].unsupported == "metric filters are not supported yet"
    assert layer.metrics["order_count"].unsupported is None


def test_a_problem_found_by_dbt_semantic_interfaces_is_located_at_the_element_it_names(
    semantic_copy: Path,
) -> None:
    path = semantic_copy / "order_line_items.yml"
    text = path.read_text()
    text = text.replace(
        "        agg: count_distinct\n        expr: case when not is_return then order_id end\n", "        agg: count\n"
    )
    path.write_text(text)
    measure_line = text.splitlines().index("      - name: order_count") + 1
    with pytest.raises(SemanticYamlError, match="requires an expr") as raised:
        load_semantic_layer(semantic_copy)
    [issue] = raised.value.issues
    assert (issue.file, issue.line) == (path, measure_line)
