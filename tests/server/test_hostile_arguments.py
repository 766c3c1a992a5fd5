"""Hostile tool arguments (SQL in names and values, unknown names, huge limits, wrong types,
stringified JSON) each get a tool error or a valid result, and the warehouse is unchanged."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from square_bi.server.app import build_server
from square_bi.warehouse.snapshot import serving_path

INJECTIONS = [
    "gross_sales; DROP TABLE fct_order_line_item",
    "location__name' OR '1'='1",
    'x"); DELETE FROM fct_order; --',
    "1; ATTACH '/tmp/evil.duckdb' AS evil",
    "COPY fct_order TO '/tmp/leak.csv'",
    "read_csv('/etc/passwd')",
    "location__name/*",
    "",
    " ",
    "\x00",
    "é" * 300,
]
NAMES = ["gross_sales", "net_sales", "order_count", "average_order_value", "location__name", "metric_time__week"]
names = st.one_of(st.sampled_from(NAMES + INJECTIONS), st.text(max_size=40))
name_lists = st.one_of(
    st.lists(names, max_size=4),
    names,
    st.lists(names, max_size=3).map(lambda v: str(v).replace("'", '"')),
    st.integers(),
    st.none(),
)
values = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(max_size=30),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
filters = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {"dimension": names, "op": st.sampled_from(["=", "!=", "in", "like", "between", "is_null", "DROP", ""])},
            optional={"value": values, "values": st.lists(values, max_size=3)},
        ),
        max_size=2,
    ),
    st.text(max_size=40),
    st.none(),
)
dates = st.one_of(
    st.none(), st.sampled_from(["2026-10-01", "2026-13-45", "yesterday", "'; DROP"]), st.text(max_size=12)
)
query_arguments = st.fixed_dictionaries(
    {"metrics": name_lists},
    optional={
        "group_by": name_lists,
        "where": filters,
        "order_by": name_lists,
        "limit": st.one_of(st.integers(min_value=-10, max_value=10**12), st.text(max_size=5), st.none()),
        "start": dates,
        "end": dates,
        "time_range": st.one_of(st.sampled_from(["last_week", "lastweek", "'; --", "forever"]), st.none()),
    },
)
calls = st.one_of(
    st.tuples(st.just("query_metrics"), query_arguments),
    st.tuples(st.just("explain_query"), query_arguments),
    st.tuples(
        st.just("get_dimension_values"),
        st.fixed_dictionaries({"dimension": names}, optional={"search": values, "limit": st.integers()}),
    ),
    st.tuples(st.just("get_dimensions"), st.fixed_dictionaries({}, optional={"metrics": name_lists, "search": values})),
    st.tuples(
        st.just("compare_periods"),
        st.fixed_dictionaries(
            {"metrics": name_lists, "current": st.one_of(dates, st.just({"start": "x"})), "previous": dates}
        ),
    ),
    st.tuples(st.just("list_metrics"), st.fixed_dictionaries({}, optional={"search": values})),
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def warehouse_copy(shop_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    db = folder / shop_db.name
    shutil.copy(shop_db, db)
    shutil.copy(serving_path(shop_db), serving_path(db))
    return db


@pytest.fixture(scope="module")
def server(warehouse_copy: Path) -> Any:
    return build_server(warehouse_copy)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=calls)
async def test_hostile_arguments_get_an_error_or_a_valid_result_and_change_nothing(
    warehouse_copy: Path, server: Any, call: tuple[str, dict[str, Any]]
) -> None:
    before = (_digest(warehouse_copy), _digest(serving_path(warehouse_copy)))
    tool, arguments = call
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        assert text and "Traceback" not in text
    else:
        assert result.structured_content is not None
    assert (_digest(warehouse_copy), _digest(serving_path(warehouse_copy))) == before
