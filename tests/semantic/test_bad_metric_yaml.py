"""Broken metric YAML for the newer metric types: each error names the file, the line and the
nearest valid names (or, for a cycle, the cycle itself).

Not applicable: "a cumulative metric without a time spine": every semantic folder must declare
one (``test_loader.py::test_a_folder_without_a_time_spine_is_refused``), so no layer without a
spine ever reaches a cumulative metric.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from square_bi.semantic import SemanticYamlError, load_semantic_layer

Edit = tuple[str, str]


def _break(folder: Path, edits: list[Edit]) -> str:
    path = folder / "metrics.yml"
    text = path.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text)
    return text


def _line(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


CASES = [
    pytest.param(
        [("expr: net_sales + taxes + tips", "expr: net_sales + taxes + tipz")],
        "expr: net_sales + taxes + tipz",
        ["'total_collected'", "Unknown input metric in expr 'tipz'", "Did you mean 'tips'?"],
        id="derived expr names an unknown input",
    ),
    pytest.param(
        [("expr: (net_sales - net_sales_prior_week)", "expr: (net_sales - net_sales_prior_wek)")],
        "expr: (net_sales - net_sales_prior_wek)",
        ["Unknown input metric in expr 'net_sales_prior_wek'", "Did you mean 'net_sales_prior_week'"],
        id="derived expr misspells an input's alias",
    ),
    pytest.param(
        [("        - name: tips\n", "        - name: tipz\n")],
        "        - name: tipz",
        ["in metric 'total_collected'", "Unknown metric 'tipz'", "Did you mean 'tips'"],
        id="derived input is an unknown metric",
    ),
    pytest.param(
        [
            ("        - name: tips\n", "        - name: total_collected\n"),
            ("expr: net_sales + taxes + tips", "expr: net_sales + taxes + total_collected"),
        ],
        "  - name: total_collected",
        ["metric 'total_collected' depends on itself: total_collected -> total_collected"],
        id="derived metric uses itself",
    ),
    pytest.param(
        [
            ("      numerator: net_sales\n", "      numerator: items_per_order\n"),
            ("      numerator: items_sold\n", "      numerator: average_order_value\n"),
        ],
        "  - name: average_order_value",
        ["depends on itself: average_order_value -> items_per_order -> average_order_value"],
        id="two ratios use each other",
    ),
    pytest.param(
        [("      numerator: net_sales\n", "")],
        "    type_params:\n      denominator: order_count",
        ["ratio metric 'average_order_value' needs `numerator:`", "'net_sales'"],
        id="ratio without a numerator",
    ),
    pytest.param(
        [("      numerator: net_sales\n", "      numerator: net_sale\n")],
        "numerator: net_sale\n",
        ["in metric 'average_order_value'", "Unknown metric 'net_sale'", "Did you mean 'net_sales'"],
        id="ratio numerator is an unknown metric",
    ),
    pytest.param(
        [("      denominator: gross_sales\n", "      denominatr: gross_sales\n")],
        "denominatr: gross_sales",
        ["Unknown key 'denominatr'", "Did you mean 'denominator'"],
        id="ratio with a misspelt denominator key",
    ),
    pytest.param(
        [("grain_to_date: month", "grain_to_date: mnth")],
        "grain_to_date: mnth",
        ["in metric 'net_sales_month_to_date'", "Unknown time grain 'mnth'", "Did you mean 'month'?"],
        id="cumulative grain_to_date misspelt",
    ),
    pytest.param(
        [("period_agg: last", "period_agg: lst")],
        "period_agg: lst",
        ["Unknown `period_agg` 'lst'", "Did you mean 'last'"],
        id="cumulative period_agg misspelt",
    ),
    pytest.param(
        [("      measure: net_sales_amount\n      cumulative", "      measure: net_sale_amount\n      cumulative")],
        "measure: net_sale_amount",
        ["in metric 'net_sales_month_to_date'", "Unknown measure 'net_sale_amount'", "Did you mean 'net_sales_amount'"],
        id="cumulative measure misspelt",
    ),
    pytest.param(
        [("offset_window: 1 week", "offset_window: 1 wek")],
        "offset_window: 1 wek",
        ["in metric 'net_sales_week_over_week'", "Unknown time grain 'wek'", "Did you mean 'week'?"],
        id="offset window grain misspelt",
    ),
    pytest.param(
        [("offset_window: 1 week", "offset_window: week")],
        "offset_window: week",
        ["'week' is not a period", "'1 week'"],
        id="offset window without a count",
    ),
]


@pytest.mark.parametrize(("edits", "marker", "fragments"), CASES)
def test_a_broken_metric_names_the_file_line_and_nearest_names(
    semantic_copy: Path, edits: list[Edit], marker: str, fragments: list[str]
) -> None:
    text = _break(semantic_copy, edits)
    with pytest.raises(SemanticYamlError) as raised:
        load_semantic_layer(semantic_copy)
    [issue] = raised.value.issues
    assert (issue.file, issue.line) == (semantic_copy / "metrics.yml", _line(text, marker))
    message = str(raised.value)
    assert f"metrics.yml:{issue.line}:" in message
    for fragment in fragments:
        assert fragment in message


def test_plural_windows_are_periods_too(semantic_copy: Path) -> None:
    _break(semantic_copy, [("offset_window: 1 week", "offset_window: 7 days")])
    layer = load_semantic_layer(semantic_copy)
    [offset] = [i.offset for i in layer.metrics["net_sales_week_over_week"].inputs if i.offset]
    assert (offset.count, offset.grain.value) == (7, "day")


@pytest.mark.parametrize("name", ["order__sourc", "location__name__week", "order_line_item__item_type"])
def test_a_local_copy_must_name_a_joined_categorical_dimension(semantic_copy: Path, name: str) -> None:
    path = semantic_copy / "order_line_items.yml"
    path.write_text(path.read_text().replace("order__source: order_source", f"{name}: order_source", 1))
    with pytest.raises(SemanticYamlError, match=f"local_copies: '{name}' is not a categorical dimension"):
        load_semantic_layer(semantic_copy)
