"""Semantic layer cost, as ratios measured in one run.

    uv run python bench/bench_semantic.py [--rows 5000000] [--repeat 9]

Builds a synthetic star schema in a temporary DuckDB file with ``range()`` (docs/data-model.md:
``fct_order_line_item`` with ``--rows`` lines, about three per order in ``fct_order`` over three
years, 20 locations, 400 item variations, ``dim_date``), then for each representative query prints

- our compile time (resolve + plan + sqlglot tree + DuckDB SQL text; median CPU time of many
  runs, so that waiting for a core on a loaded machine is not counted; target < 5 ms) and
  MetricFlow's for the same query (``MetricFlowEngine.explain``: plan and SQL, nothing executed),
  over the same YAML, measured the same way;
- the execution time of our SQL and of hand-written SQL for the same answer (the answers are
  checked equal first, which also warms both up), and their ratio (target <= 1.2). Ours is the
  statement ``run_query`` runs on this warehouse (its money is all USD, which DuckDB's column
  statistics prove, so the currency is a constant: see square_bi.semantic.proven_currency), timed
  with run_query's look-up of those statistics (once: the file is opened read-only, as the servers
  open their snapshot; on a writable connection run_query looks again after the query, about
  0.4 ms more). "row-checked ratio" is the same for the SQL that checks each row's currency (what a
  warehouse whose statistics prove no single currency runs).

All are timed interleaved, in at least ``--repeat`` rounds of alternating order (fast queries get
more: as many as about 1.5 s of the hand-written one takes, up to 61), and each ratio is the
median over rounds of ours / hand-written in the same round: on a shared, loaded machine the load
drifts between runs, and timing one query's runs all before its twin's would put that drift into
the ratio. "CPU ratio" is the same for CPU time (all of DuckDB's threads): the work each does,
which another process's load changes far less than wall time.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from square_bi.semantic import MetricQuery, SemanticLayer, compile_query, load_semantic_layer, run_query, to_sql
from square_bi.semantic.plan import plan_query
from square_bi.semantic.proven_currency import currency_statistics
from square_bi.semantic.resolve import resolve_query

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from semantic.metricflow_oracle import MetricFlowQueryRequest, metricflow_engine

DAYS = 3 * 365
FIRST_DAY = "DATE '2023-01-01'"
LOCATIONS = 20
VARIATIONS = 400
LINES_PER_ORDER = 3
ROUNDS_BUDGET_MS = 1500
MAX_ROUNDS = 61

SCHEMA = """
CREATE TABLE dim_location AS
SELECT 'L' || i AS location_id, 'Shop ' || lpad(i::VARCHAR, 2, '0') AS name, 'America/New_York' AS timezone,
       'USD' AS currency, CASE WHEN i % 7 = 6 THEN 'INACTIVE' ELSE 'ACTIVE' END AS status,
       'City ' || (i % 5) AS city
FROM range({locations}) t(i);

CREATE TABLE dim_item AS
SELECT 'V' || i AS item_variation_id, 'I' || (i // 4) AS item_id, 'Item ' || (i // 4) AS item_name,
       'Variation ' || (i % 4) AS variation_name, 'Category ' || (i // 4 % 12) AS category_name,
       200 + (i * 37) % 800 AS price_amount, false AS is_deleted
FROM range({variations}) t(i);

CREATE TABLE dim_date AS
SELECT d::DATE AS date_day, year(d) AS year, quarter(d) AS quarter, month(d) AS month,
       isoyear(d) AS iso_year, week(d) AS iso_week, day(d) AS day_of_month, isodow(d) AS day_of_week,
       dayname(d) AS day_name, isodow(d) >= 6 AS is_weekend,
       CAST(date_trunc('week', d) AS DATE) AS week_start, CAST(date_trunc('month', d) AS DATE) AS month_start
FROM range({first_day}, {first_day} + INTERVAL {spine_days} DAY, INTERVAL 1 DAY) t(d);

CREATE TABLE fct_order_line_item AS
WITH lines AS (
    SELECT i, i // {per_order} AS o, hash(i) % {variations} AS v, i % 97 = 0 AS custom,
           (i // {per_order}) % 40 = 0 AS is_return, 1 + i % 3 AS units
    FROM range({rows}) t(i)
), priced AS (
    SELECT *, CASE WHEN is_return THEN -1 ELSE 1 END AS sign,
           CASE WHEN custom THEN 1500 ELSE 200 + (v * 37) % 800 END * units AS gross
    FROM lines
)
SELECT 'O' || o || ':' || (i % {per_order}) AS line_item_id, 'O' || o AS order_id,
       (i % {per_order})::VARCHAR AS line_item_uid, 'L' || (hash(o) % {locations}) AS location_id,
       CASE WHEN custom THEN NULL ELSE 'V' || v END AS item_variation_id,
       CASE WHEN o % 3 = 0 THEN NULL ELSE 'C' || (hash(o * 7) % 50000) END AS customer_id,
       CAST({first_day} + CAST(o * {days} // {orders} AS INTEGER) AS DATE) AS business_date,
       CAST(7 + o % 12 AS INTEGER) AS business_hour, NULL::TIMESTAMP AS closed_at, 'COMPLETED' AS order_state,
       CASE WHEN o % 5 = 0 THEN 'Online' ELSE 'POS' END AS order_source,
       CASE WHEN custom THEN 'CUSTOM_AMOUNT' ELSE 'ITEM' END AS item_type, is_return,
       NULL::VARCHAR AS returned_line_item_id, CAST(sign * units AS DECIMAL(18, 5)) AS quantity,
       sign * gross AS gross_sales_amount, 0::BIGINT AS modifiers_amount,
       sign * CASE WHEN i % 10 = 0 THEN gross // 10 ELSE 0 END AS discount_amount,
       sign * (gross // 10) AS tax_amount, sign * (gross // 10) AS additive_tax_amount,
       0::BIGINT AS inclusive_tax_amount,
       sign * (gross - CASE WHEN i % 10 = 0 THEN gross // 10 ELSE 0 END) AS net_sales_amount,
       sign * (gross - CASE WHEN i % 10 = 0 THEN gross // 10 ELSE 0 END + gross // 10) AS total_amount,
       'USD' AS currency
FROM priced;

CREATE TABLE fct_order AS
SELECT order_id, any_value(location_id) AS location_id, any_value(customer_id) AS customer_id,
       'COMPLETED' AS order_state, any_value(order_source) AS order_source, NULL::TIMESTAMP AS created_at,
       NULL::TIMESTAMP AS closed_at, any_value(business_date) AS business_date,
       any_value(business_hour) AS business_hour, 'USD' AS currency, SUM(total_amount) AS total_amount,
       SUM(tax_amount) AS tax_amount, SUM(discount_amount) AS discount_amount,
       CASE WHEN bool_or(is_return) THEN 0 ELSE hash(order_id) % 4 * 50 END AS tip_amount,
       0::BIGINT AS service_charge_amount, COUNT(*) FILTER (WHERE NOT is_return) AS sales_line_count,
       COUNT(*) FILTER (WHERE is_return) AS return_line_count, bool_or(NOT is_return) AS has_sales_line,
       1::BIGINT AS tender_count, SUM(total_amount) AS card_amount, 0::BIGINT AS cash_amount,
       0::BIGINT AS other_tender_amount, SUM(total_amount) * 29 // 1000 AS processing_fee_amount
FROM fct_order_line_item GROUP BY order_id
UNION ALL  -- canceled orders: tips and fees that no metric may count
SELECT 'X' || k, 'L' || (k % {locations}), NULL, 'CANCELED', 'POS', NULL, NULL,
       CAST({first_day} + CAST(k * {days} // {canceled} AS INTEGER) AS DATE), 12, 'USD', 999, 0, 0, 500, 0,
       0, 0, false, 1, 999, 0, 0, 29
FROM range({canceled}) t(k);
"""


@dataclass(frozen=True)
class BenchQuery:
    name: str
    query: dict[str, Any]
    hand_sql: str


QUERIES: tuple[BenchQuery, ...] = (
    BenchQuery(
        "simple by month",
        {"metrics": ["gross_sales"], "group_by": ["metric_time__month"]},
        """SELECT CAST(date_trunc('month', business_date) AS DATE) AS m,
                  SUM(gross_sales_amount) FILTER (WHERE NOT is_return)
           FROM fct_order_line_item GROUP BY 1 ORDER BY 1""",
    ),
    BenchQuery(
        "two metrics by location",
        {"metrics": ["net_sales", "order_count"], "group_by": ["location__name"]},
        """SELECT l.name, SUM(f.net_sales_amount), COUNT(DISTINCT f.order_id) FILTER (WHERE NOT f.is_return)
           FROM fct_order_line_item f JOIN dim_location l ON l.location_id = f.location_id
           GROUP BY 1 ORDER BY 1""",
    ),
    BenchQuery(
        "filter on the order",
        {
            "metrics": ["items_sold"],
            "group_by": ["item__category"],
            "where": [{"dimension": "order__source", "value": "Online"}],
        },
        # a person would use the line's own copy of order_source; the semantic layer joins fct_order
        """SELECT i.category_name, SUM(f.quantity) FILTER (WHERE NOT f.is_return)
           FROM fct_order_line_item f LEFT JOIN dim_item i ON i.item_variation_id = f.item_variation_id
           WHERE f.order_source = 'Online' GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    BenchQuery(
        "ratio by week",
        {"metrics": ["average_order_value"], "group_by": ["metric_time__week"]},
        """SELECT CAST(date_trunc('week', business_date) AS DATE),
                  CAST(CAST(SUM(net_sales_amount) AS DOUBLE)
                       / NULLIF(COUNT(DISTINCT order_id) FILTER (WHERE NOT is_return), 0) AS DECIMAL(38, 0))
           FROM fct_order_line_item GROUP BY 1 ORDER BY 1""",
    ),
    BenchQuery(
        "two facts by location",
        {"metrics": ["gross_sales", "tips"], "group_by": ["location__name"]},
        """WITH s AS (SELECT location_id, SUM(gross_sales_amount) FILTER (WHERE NOT is_return) AS g
                      FROM fct_order_line_item GROUP BY 1),
                t AS (SELECT location_id, SUM(tip_amount) FILTER (WHERE order_state = 'COMPLETED') AS t
                      FROM fct_order GROUP BY 1)
           SELECT l.name, s.g, t.t FROM dim_location l JOIN s ON s.location_id = l.location_id
           JOIN t ON t.location_id = l.location_id ORDER BY 1""",
    ),
    BenchQuery(
        "week over week",
        {"metrics": ["net_sales_week_over_week"], "group_by": ["metric_time__week"]},
        """WITH w AS (SELECT CAST(date_trunc('week', business_date) AS DATE) AS wk, SUM(net_sales_amount) AS n
                      FROM fct_order_line_item GROUP BY 1)
           SELECT cur.wk, CAST(cur.n - prev.n AS DOUBLE) / NULLIF(prev.n, 0)
           FROM w cur LEFT JOIN w prev ON prev.wk = cur.wk - 7 ORDER BY 1""",
    ),
    BenchQuery(
        "month to date by day",
        {"metrics": ["net_sales_month_to_date"], "group_by": ["metric_time__day"]},
        """WITH daily AS (SELECT business_date AS d, SUM(net_sales_amount) AS n FROM fct_order_line_item GROUP BY 1)
           SELECT s.date_day, SUM(daily.n) OVER (PARTITION BY date_trunc('month', s.date_day) ORDER BY s.date_day) AS r
           FROM dim_date s LEFT JOIN daily ON daily.d = s.date_day
           WHERE s.date_day BETWEEN (SELECT MIN(d) FROM daily) AND (SELECT MAX(d) FROM daily)
           QUALIFY r IS NOT NULL ORDER BY 1""",
    ),
    BenchQuery(
        "derived, two facts, month x location",
        {"metrics": ["total_collected"], "group_by": ["metric_time__month", "location__name"]},
        """WITH s AS (SELECT CAST(date_trunc('month', business_date) AS DATE) AS m, location_id,
                             SUM(net_sales_amount) + SUM(tax_amount) AS v
                      FROM fct_order_line_item GROUP BY 1, 2),
                t AS (SELECT CAST(date_trunc('month', business_date) AS DATE) AS m, location_id,
                             SUM(tip_amount) FILTER (WHERE order_state = 'COMPLETED') AS v
                      FROM fct_order GROUP BY 1, 2)
           SELECT s.m, l.name, s.v + t.v FROM s JOIN t ON t.m = s.m AND t.location_id = s.location_id
           JOIN dim_location l ON l.location_id = s.location_id ORDER BY 1, 2""",
    ),
    BenchQuery(
        "filtered date range by day",
        {
            "metrics": ["net_sales", "taxes"],
            "group_by": ["metric_time__day", "location__name"],
            "start": "2024-03-01",
            "end": "2024-05-31",
        },
        """SELECT f.business_date, l.name, SUM(f.net_sales_amount), SUM(f.tax_amount)
           FROM fct_order_line_item f JOIN dim_location l ON l.location_id = f.location_id
           WHERE f.business_date BETWEEN DATE '2024-03-01' AND DATE '2024-05-31' GROUP BY 1, 2 ORDER BY 1, 2""",
    ),
)


def build_warehouse(path: Path, rows: int) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(path))
    orders = max(1, rows // LINES_PER_ORDER)
    connection.execute(
        SCHEMA.format(
            rows=rows,
            orders=orders,
            per_order=LINES_PER_ORDER,
            canceled=max(1, orders // 50),
            days=DAYS,
            spine_days=DAYS + 60,
            first_day=FIRST_DAY,
            locations=LOCATIONS,
            variations=VARIATIONS,
        )
    )
    connection.execute("CHECKPOINT")
    return connection


def median_cpu_ms(run: Callable[[], object], times: int) -> float:
    """Median CPU ms of ``run`` (this process's CPU time: compiling is single-threaded Python, and
    wall time on a loaded machine would add the time spent waiting for a core)."""
    run()
    samples = []
    for _ in range(times):
        started = time.process_time()
        run()
        samples.append((time.process_time() - started) * 1000)
    return statistics.median(samples)


def interleaved(runs: Sequence[Callable[[], object]], times: int) -> list[list[tuple[float, float]]]:
    """``(wall ms, CPU ms)`` of each of ``runs``, run ``times`` times in rounds (each round in the
    opposite order of the one before), so that all see the same machine load."""
    samples: list[list[tuple[float, float]]] = [[] for _ in runs]
    order = list(range(len(runs)))
    for round_ in range(times):
        for index in order if round_ % 2 == 0 else order[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            runs[index]()
            samples[index].append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
    return samples


def paired_ratio(ours: list[tuple[float, float]], hand: list[tuple[float, float]], cpu: bool = False) -> float:
    """Median over rounds of ours / hand in the same round (wall time, or CPU time of all threads)."""
    return statistics.median(a[cpu] / b[cpu] for a, b in zip(ours, hand, strict=True))


def visible(columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Our rows without the hidden currency columns (``__...``)."""
    keep = [i for i, name in enumerate(columns) if not name.startswith("__")]
    return [tuple(row[i] for i in keep) for row in rows]


def same_rows(ours: list[tuple[Any, ...]], hand: list[tuple[Any, ...]]) -> bool:
    if len(ours) != len(hand):
        return False
    for a_row, b_row in zip(ours, hand, strict=True):
        for a, b in zip(a_row, b_row, strict=True):
            if isinstance(a, int | float | Decimal) and not isinstance(a, bool):
                if b is None or not math.isclose(float(a), float(b), rel_tol=1e-9):
                    return False
            elif a != b:
                return False
    return True


@dataclass
class Measured:
    name: str
    compile_ms: float
    metricflow_ms: float | None
    ours_ms: float
    hand_ms: float
    ratio: float
    """Median over rounds of our wall time / the hand-written SQL's in the same round."""
    cpu_ratio: float
    """The same for CPU time (all of DuckDB's threads): the work done, whatever the machine's load."""
    checked_ratio: float
    """``ratio`` for our SQL with the per-row currency check (money not proven to be in one currency)."""


def measure(
    query: BenchQuery, layer: SemanticLayer, connection: duckdb.DuckDBPyConnection, engine: Any, repeat: int
) -> Measured:
    request = MetricQuery.model_validate(query.query)
    compile_ms = median_cpu_ms(lambda: to_sql(compile_query(layer, request)), 200)
    plan = plan_query(layer, resolve_query(layer, request))
    sql = run_query(connection, layer, request).sql  # what run_query runs on this warehouse
    metricflow_ms: float | None
    try:
        mf_request = MetricFlowQueryRequest.create(
            metric_names=request.metrics,
            group_by_names=request.group_by,
            where_constraints=[_metricflow_where(f.dimension, f.value) for f in request.where] or None,
        )
        metricflow_ms = median_cpu_ms(lambda: engine.explain(mf_request).sql_statement.sql, 10)
    except Exception as error:  # MetricFlow cannot express it: say so, keep going
        print(f"  MetricFlow did not compile {query.name!r}: {type(error).__name__}")
        metricflow_ms = None
    cursor = connection.execute(sql)
    columns = [c[0] for c in cursor.description or []]
    ours_rows = cursor.fetchall()
    hand_rows = connection.execute(query.hand_sql).fetchall()
    if not same_rows(visible(columns, ours_rows), hand_rows):
        raise SystemExit(f"{query.name}: our SQL and the hand-written SQL disagree")

    def ours() -> None:  # as run_query does: currency statistics, the statement (then, if writable, statistics)
        before = currency_statistics(connection, plan)
        connection.execute(sql).fetchall()
        if not before.read_only:
            currency_statistics(connection, plan)

    checked_sql = to_sql(compile_query(layer, request))  # no warehouse: every row's currency checked
    started = time.perf_counter()
    connection.execute(query.hand_sql).fetchall()
    # fast queries get more rounds (about 1.5 s of the hand-written one): their ratios are the noisiest
    rounds = max(repeat, min(MAX_ROUNDS, int(ROUNDS_BUDGET_MS / ((time.perf_counter() - started) * 1000))))
    ours_runs, hand_runs, checked_runs = interleaved(
        [
            ours,
            lambda: connection.execute(query.hand_sql).fetchall(),
            lambda: connection.execute(checked_sql).fetchall(),
        ],
        rounds,
    )
    return Measured(
        query.name,
        compile_ms,
        metricflow_ms,
        ours_ms=statistics.median(wall for wall, _ in ours_runs),
        hand_ms=statistics.median(wall for wall, _ in hand_runs),
        ratio=paired_ratio(ours_runs, hand_runs),
        cpu_ratio=paired_ratio(ours_runs, hand_runs, cpu=True),
        checked_ratio=paired_ratio(checked_runs, hand_runs),
    )


def _metricflow_where(dimension: str, value: Any) -> str:
    return "{{ Dimension('" + dimension + "') }} = '" + str(value) + "'"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="lines in fct_order_line_item")
    parser.add_argument("--repeat", type=int, default=9, help="timed executions of each twin (medians are kept)")
    args = parser.parse_args()

    layer = load_semantic_layer()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        build_warehouse(Path(tmp) / "bench.duckdb", args.rows).close()
        connection = duckdb.connect(str(Path(tmp) / "bench.duckdb"), read_only=True)  # as the servers read it
        (lines,) = connection.execute("SELECT COUNT(*) FROM fct_order_line_item").fetchone() or (0,)
        (orders,) = connection.execute("SELECT COUNT(*) FROM fct_order").fetchone() or (0,)
        print(f"synthetic star: {lines:,} lines, {orders:,} orders, built in {time.perf_counter() - started:.1f} s")
        engine = metricflow_engine(connection)
        results = [measure(query, layer, connection, engine, args.repeat) for query in QUERIES]
        connection.close()

    print()
    header = (
        f"{'query':<38} {'compile ms':>10} {'MF compile ms':>13} {'ours exec ms':>12} {'hand exec ms':>12} "
        f"{'ratio':>6} {'CPU ratio':>9} {'row-checked ratio':>17}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        mf = f"{r.metricflow_ms:.1f}" if r.metricflow_ms is not None else "n/a"
        print(
            f"{r.name:<38} {r.compile_ms:>10.2f} {mf:>13} {r.ours_ms:>12.1f} {r.hand_ms:>12.1f} {r.ratio:>6.2f} "
            f"{r.cpu_ratio:>9.2f} {r.checked_ratio:>17.2f}"
        )
    compile_times = [r.compile_ms for r in results]
    speedups = [r.metricflow_ms / r.compile_ms for r in results if r.metricflow_ms is not None]
    print()
    print(
        f"compile (CPU): median {statistics.median(compile_times):.2f} ms, max {max(compile_times):.2f} ms "
        f"(target < 5 ms: {'met' if max(compile_times) < 5 else 'NOT met'})"
    )
    if speedups:
        print(f"MetricFlow compile / ours: median {statistics.median(speedups):.0f}x ({len(speedups)} queries)")
    for label, ratios in (
        ("execution ours / hand-written", [r.ratio for r in results]),
        ("  the same in CPU time", [r.cpu_ratio for r in results]),
        ("  with the per-row currency check", [r.checked_ratio for r in results]),
    ):
        geometric = math.exp(statistics.fmean(math.log(r) for r in ratios))
        over = [r.name for r, ratio in zip(results, ratios, strict=True) if ratio > 1.2]
        verdict = "met" if not over else "NOT met for " + ", ".join(over)
        print(f"{label}: geometric mean {geometric:.2f}, max {max(ratios):.2f} (target <= 1.2: {verdict})")


if __name__ == "__main__":
    main()
