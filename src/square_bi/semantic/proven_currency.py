"""Money the warehouse proves is in one currency, so that a query need not check it row by row.

Each money node of a query returns, per result row, its currency code and whether the row holds
one currency (``ANY_VALUE`` of the code, ``MIN`` / ``MAX`` of its hash: see
:func:`~square_bi.semantic.nodes.currency_aggregates`), computed over every fact row the query
reads. On a 5M-line fact that check costs as much as a cheap query's own aggregates (up to half of
its time in ``bench/bench_semantic.py``), and most merchants sell in a single currency.

DuckDB already knows when that is so: it keeps statistics of every column (minimum, maximum,
longest string, whether NULLs occur), widened as rows are committed and never narrowed (they stay
true after a delete or update), because its optimizer relies on them. When a model's currency
column has no NULL and its minimum equals its maximum, every row of that model holds that one
code; the compiler then writes the code as a constant and reads no row for it.

:func:`~square_bi.semantic.runner.run_query` reads the statistics before the query (to write it)
and again after it (to confirm no write added a currency while it ran).
"""

from __future__ import annotations

import duckdb
from sqlglot import exp

from square_bi.semantic.model import SemanticModel
from square_bi.semantic.plan import QueryPlan
from square_bi.semantic.sql import table

__all__ = ["STATISTICS_PREFIX_BYTES", "proven_currencies"]

STATISTICS_PREFIX_BYTES = 8
"""DuckDB keeps the first 8 bytes of a string column's minimum and maximum; only strings no
longer than that are known exactly."""


def proven_currencies(connection: duckdb.DuckDBPyConnection, plan: QueryPlan) -> tuple[tuple[str, str], ...]:
    """``(semantic model, currency code)`` for each of the plan's money models whose every row
    holds that one code, by the warehouse's statistics; models not proven are left out (checked
    per row as before)."""
    found: dict[str, str] = {}
    for node in plan.nodes:
        currency = node.currency
        if currency is None or node.source.name in found:
            continue
        code = _single_value(connection, node.source, currency.expr)
        if code is not None:
            found[node.source.name] = code
    return tuple(found.items())


def _single_value(connection: duckdb.DuckDBPyConnection, model: SemanticModel, column: exp.Expr) -> str | None:
    """The one value of ``column`` in every row of ``model``'s table, or ``None`` when its
    statistics do not prove there is exactly one (or are not available)."""
    if not isinstance(column, exp.Column) or column.table:
        return None  # an expression's statistics are derived by the optimizer: keep the row check
    statistics = exp.Anonymous(this="stats", expressions=[column.copy()])
    sql = exp.select(statistics).from_(table(model, model.name)).limit(1).sql(dialect="duckdb")
    try:
        row = connection.execute(sql).fetchone()
    except duckdb.Error:
        return None  # no such table yet, or a DuckDB without stats(): the query checks every row
    found = row[0] if row else None  # no row: an empty table, nothing to prove
    if not isinstance(found, dict) or found.get("has_null") is not False:
        return None
    lowest, highest, longest = found.get("min"), found.get("max"), found.get("max_string_length")
    if not isinstance(lowest, str) or lowest != highest:
        return None
    if not isinstance(longest, int) or longest > STATISTICS_PREFIX_BYTES:
        return None  # minimum and maximum may be cut prefixes of different strings
    return lowest
