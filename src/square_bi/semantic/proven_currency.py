"""Money the warehouse proves is in one currency, so that a query need not check it row by row.

Each money node of a query returns, per result row, its currency code and whether the row holds
one currency (``ANY_VALUE`` of the code, ``MIN`` / ``MAX`` of its hash: see
:func:`~square_bi.semantic.nodes.currency_aggregates`), computed over every fact row the query
reads. On a 5M-line fact that check is up to a third of a cheap query's time (``bench/
bench_semantic.py``, two facts by location: 1.55x the hand-written SQL with it, 1.1x without), and
most merchants sell in a single currency.

DuckDB already knows when that is so: it keeps statistics of every column (minimum, maximum,
longest string, whether NULLs occur), widened as rows are committed and never narrowed (they stay
true after a delete or update), because its optimizer relies on them. When a model's currency
column has no NULL and its minimum equals its maximum, every row of that model holds that one
code; the compiler then writes the code as a constant and reads no row for it.

:func:`~square_bi.semantic.runner.run_query` reads the statistics before the query (to write it)
and, unless the database is read-only (as the servers' snapshots are: nothing can write to it while
it is open), again after it, to confirm that no write added a currency while it ran.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import duckdb
from sqlglot import exp

from square_bi.semantic.plan import QueryPlan

__all__ = ["STATISTICS_PREFIX_BYTES", "CurrencyStatistics", "currency_statistics"]

STATISTICS_PREFIX_BYTES = 8
"""DuckDB keeps the first 8 bytes of a string column's minimum and maximum; only strings no
longer than that are known exactly."""


@dataclass(frozen=True)
class CurrencyStatistics:
    proven: tuple[tuple[str, str], ...] = ()
    """``(semantic model, currency code)`` for each of the plan's money models whose every row
    holds that one code; models not proven are left out (checked per row)."""
    read_only: bool = False
    """The database is open read-only: no write can change it while the connection lives."""


def currency_statistics(connection: duckdb.DuckDBPyConnection, plan: QueryPlan) -> CurrencyStatistics:
    """What the warehouse's statistics prove about the currencies of the plan's money models: one
    short statement per model (``stats()`` is answered while planning; the scan stops at one row)."""
    proven: dict[str, str] = {}
    read_only = False
    for node in plan.nodes:
        currency, model = node.currency, node.source
        if currency is None or not isinstance(currency.expr, exp.Column) or currency.expr.table:
            continue  # an expression's statistics are derived by the optimizer: keep the row check
        if model.name in proven:
            continue
        try:
            row = connection.execute(_statistics_sql(model.schema, model.table, currency.expr.name)).fetchone()
        except duckdb.Error:
            continue  # no such table yet, or a DuckDB without stats(): check every row
        if row is None:
            continue  # an empty table: nothing to prove
        statistics, access_mode = row
        read_only = read_only or access_mode == "read_only"
        code = _single_value(statistics)
        if code is not None:
            proven[model.name] = code
    return CurrencyStatistics(proven=tuple(proven.items()), read_only=read_only)


@functools.lru_cache(maxsize=256)
def _statistics_sql(schema: str, table: str, column: str) -> str:
    """``SELECT stats(<column>), current_setting('access_mode') FROM <schema>.<table> LIMIT 1``;
    the text depends only on the layer, so it is made once."""
    statistics = exp.Anonymous(this="stats", expressions=[exp.column(exp.to_identifier(column))])
    access_mode = exp.Anonymous(this="current_setting", expressions=[exp.Literal.string("access_mode")])
    source = exp.Table(this=exp.to_identifier(table), db=exp.to_identifier(schema))
    return exp.select(statistics, access_mode).from_(source).limit(1).sql(dialect="duckdb")


def _single_value(statistics: Any) -> str | None:
    """The one value the statistics of a string column allow, or ``None`` when they allow more
    (or a NULL, or are not DuckDB's statistics struct)."""
    if not isinstance(statistics, dict) or statistics.get("has_null") is not False:
        return None
    lowest, highest, longest = statistics.get("min"), statistics.get("max"), statistics.get("max_string_length")
    if not isinstance(lowest, str) or lowest != highest:
        return None
    if not isinstance(longest, int) or longest > STATISTICS_PREFIX_BYTES:
        return None  # minimum and maximum may be cut prefixes of different strings
    return lowest
