"""Star schema build time as a ratio to one scan of the staging tables it reads.

    uv run python bench/bench_star.py [--line-items 1000000]

Fills synthetic staging tables in a temporary DuckDB file (orders with two line items each, a few
returns and tenders, three locations in different time zones), then times:
- one scan of the staging tables, copied as they are (the floor: every row the models read, read
  once and written once);
- ``build_star_schema`` (every model, one transaction).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from square_bi.warehouse.star import build_star_schema, initialize

FILL = """
INSERT INTO stg_locations (id, name, timezone, currency, status)
VALUES ('L1', 'Mission', 'America/Los_Angeles', 'USD', 'ACTIVE'),
       ('L2', 'SoHo', 'America/New_York', 'USD', 'ACTIVE'),
       ('L3', 'Shoreditch', 'Europe/London', 'GBP', 'ACTIVE');
INSERT INTO stg_catalog_objects (id, type, version, is_deleted, name, item_id, price_amount)
SELECT 'V' || i, 'ITEM_VARIATION', 1, false, 'Regular', 'I' || (i % 30), 350 FROM range(60) t(i);
INSERT INTO stg_orders (id, location_id, state, version, created_at, updated_at, closed_at, currency,
                        total_amount, total_tax_amount, total_discount_amount, total_tip_amount,
                        total_service_charge_amount)
SELECT 'O' || i, 'L' || (1 + i % 3), CASE WHEN i % 40 = 0 THEN 'CANCELED' ELSE 'COMPLETED' END, 1,
       TIMESTAMP '2025-01-01' + INTERVAL (i * 37) SECOND, TIMESTAMP '2025-01-01' + INTERVAL (i * 37 + 60) SECOND,
       TIMESTAMP '2025-01-01' + INTERVAL (i * 37 + 60) SECOND, CASE WHEN i % 3 = 2 THEN 'GBP' ELSE 'USD' END,
       1000, 80, 0, 100, 0
FROM range(?) t(i);
INSERT INTO stg_order_line_items (order_id, uid, catalog_object_id, item_type, quantity, currency,
    base_price_amount, variation_total_price_amount, gross_sales_amount, modifiers_amount,
    total_discount_amount, total_tax_amount, additive_tax_amount, inclusive_tax_amount, total_amount)
SELECT o.id, 'U' || k, 'V' || ((hash(o.id) + k) % 60), 'ITEM', 1, o.currency, 450, 450, 450, 0, 0, 40, 40, 0, 490
FROM stg_orders o, range(2) t(k);
INSERT INTO stg_order_tenders (order_id, tender_id, type, currency, amount, tip_amount,
                               processing_fee_amount, payment_id)
SELECT id, 'T' || id, 'CARD', currency, 1080, 100, 30, 'P' || id FROM stg_orders;
INSERT INTO stg_payments (id, location_id, order_id, status, source_type, created_at, updated_at, currency,
    amount, tip_amount, total_amount, refunded_amount, processing_fee_amount)
SELECT 'P' || id, location_id, id, 'COMPLETED', 'CARD', closed_at, closed_at, currency, 980, 100, 1080, 0, 30
FROM stg_orders;
"""

SCAN = [
    # The floor: read every staging row the models read, once, and write it out again (the build
    # also materialises its tables), without joins, time zones or aggregation.
    "CREATE TEMP TABLE scan_orders AS SELECT * EXCLUDE (raw) FROM stg_orders",
    "CREATE TEMP TABLE scan_lines AS SELECT * FROM stg_order_line_items",
    "CREATE TEMP TABLE scan_tenders AS SELECT * FROM stg_order_tenders",
    "CREATE TEMP TABLE scan_payments AS SELECT * EXCLUDE (raw) FROM stg_payments",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--line-items", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "star.duckdb"))
        con.execute("SET TimeZone = 'UTC'")
        initialize(con)
        for statement in FILL.split(";\n"):
            if statement.strip():
                params = [args.line_items // 2] if "FROM range(?)" in statement else []
                con.execute(statement, params)
        con.execute("CHECKPOINT")
        started = time.perf_counter()
        for statement in SCAN:
            con.execute(statement)
        scan_s = time.perf_counter() - started
        started = time.perf_counter()
        counts = build_star_schema(con)
        build_s = time.perf_counter() - started
    print(f"staging: {args.line_items:,} line items; star: {counts}")
    print(f"one scan of staging: {scan_s:.3f} s; star build: {build_s:.3f} s -> ratio {build_s / scan_s:.1f}x")


if __name__ == "__main__":
    main()
