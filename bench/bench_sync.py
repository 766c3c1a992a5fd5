"""Sync throughput on the demo merchant, as ratios measured in one run.

    uv run python bench/bench_sync.py [--days 90] [--orders-per-day 200]

Prints:
- a per-stage profile of one page of orders (decode, validate, Arrow rows, upsert) against
  ``native_normalise`` of the same page (DuckDB SQL alone filling the same four staging tables), with
  the sync's GC thresholds;
- parse cost per order: the SDK's typed response models vs our pydantic boundary models (why the
  bulk streams read Square's JSON through the SDK's HTTP layer instead of its typed methods);
- a full sync (HTTP + validation + Arrow upserts + star schema) in line items/s, against
  DuckDB-native JSON normalisation of the very same pages (the CPU floor for getting these rows
  into tables), as a ratio. The demo merchant runs in its own process (`square-bi emulator`), as
  Square would, so its JSON encoding does not share this process's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import orjson
from emulator_process import emulator
from square.core.unchecked_base_model import construct_type
from square.types.search_orders_response import SearchOrdersResponse

from square_bi.config import Settings
from square_bi.extract.records import Order, utc_now, validate_record
from square_bi.extract.runner import sync_interpreter_settings
from square_bi.square.demo import DemoConfig, generate
from square_bi.warehouse import staging
from square_bi.warehouse.database import connect, transaction
from square_bi.warehouse.sink import StagedPage, stage_records, write_staged
from square_bi.warehouse.sync import initialize, sync_warehouse

TOKEN = "bench-token"


def _best_ms(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def stage_profile(orders: list[dict[str, Any]]) -> None:
    """Where one page's CPU goes, stage by stage (best of 3), against DuckDB-native normalisation."""
    body = orjson.dumps({"orders": orders})
    lines = sum(len(o.get("line_items", [])) for o in orders)
    with tempfile.TemporaryDirectory() as tmp, sync_interpreter_settings():
        decoded: list[dict[str, Any]] = orjson.loads(body)["orders"]
        records = [validate_record(Order, o) for o in decoded]
        synced_at = utc_now()
        con = connect(Path(tmp) / "stages.duckdb")
        initialize(con)
        stages = {
            "orjson.loads": _best_ms(lambda: orjson.loads(body)),
            "validate (pydantic, Order)": _best_ms(lambda: [validate_record(Order, o) for o in decoded]),
            "Arrow rows (stage_records)": _best_ms(lambda: stage_records("orders", records, decoded, synced_at)),
        }
        staged = stage_records("orders", records, decoded, synced_at)
        stages["upsert (one transaction)"] = _best_ms(lambda: _upsert(con, staged))
        pages = write_pages(orders, Path(tmp) / "page", len(orders))
        fresh = (Path(tmp) / f"native-{n}.duckdb" for n in itertools.count())
        native = _best_ms(lambda: native_normalise(pages, next(fresh)))
    ours = sum(stages.values())
    print(f"one page of {len(orders):,} orders ({lines:,} line items, {len(body) / 1e6:.1f} MB):")
    for name, ms in stages.items():
        print(f"  {name:28s} {ms:7.0f} ms  {ms / ours:4.0%}")
    print(f"  {'total':28s} {ours:7.0f} ms; DuckDB-native normalisation of the same page {native:.0f} ms")
    print(f"  page ratio ours / native = {ours / native:.1f}x")


def _upsert(con: duckdb.DuckDBPyConnection, staged: StagedPage) -> None:
    with transaction(con):
        write_staged(con, staged)


# The parts of Square's Order that the staging tables read, as a ``from_json`` structure: exactly
# the fields of square_bi.extract.records.Order that rows.order_rows uses, nothing inferred.
_MONEY = {"amount": "BIGINT", "currency": "VARCHAR"}
_TAX = {"uid": "VARCHAR", "type": "VARCHAR"}
_APPLIED_TAX = {"tax_uid": "VARCHAR", "applied_money": _MONEY}
_MODIFIER = {"total_price_money": _MONEY}
_LINE_COMMON = {
    "uid": "VARCHAR",
    "quantity": "DECIMAL(18,5)",
    "name": "VARCHAR",
    "variation_name": "VARCHAR",
    "catalog_object_id": "VARCHAR",
    "item_type": "VARCHAR",
    "base_price_money": _MONEY,
    "variation_total_price_money": _MONEY,
    "total_discount_money": _MONEY,
    "total_tax_money": _MONEY,
    "total_money": _MONEY,
    "applied_taxes": [_APPLIED_TAX],
}
_LINE = {**_LINE_COMMON, "catalog_version": "BIGINT", "gross_sales_money": _MONEY, "modifiers": [_MODIFIER]}
_RETURN_LINE = {
    **_LINE_COMMON,
    "source_line_item_uid": "VARCHAR",
    "gross_return_money": _MONEY,
    "return_modifiers": [_MODIFIER],
}
_RETURN = {"uid": "VARCHAR", "source_order_id": "VARCHAR", "return_line_items": [_RETURN_LINE], "return_taxes": [_TAX]}
_TENDER = {
    "id": "VARCHAR",
    "type": "VARCHAR",
    "amount_money": _MONEY,
    "tip_money": _MONEY,
    "processing_fee_money": _MONEY,
    "card_details": {"card": {"card_brand": "VARCHAR"}},
    "payment_id": "VARCHAR",
    "customer_id": "VARCHAR",
}
ORDER_STRUCTURE = {
    "id": "VARCHAR",
    "location_id": "VARCHAR",
    "state": "VARCHAR",
    "version": "BIGINT",
    # Square's RFC 3339 strings: TIMESTAMPTZ honours the offset (a plain TIMESTAMP cast would drop
    # it); stored into the TIMESTAMP columns under the session's UTC, as the sync stores them.
    "created_at": "TIMESTAMPTZ",
    "updated_at": "TIMESTAMPTZ",
    "closed_at": "TIMESTAMPTZ",
    "source": {"name": "VARCHAR"},
    "customer_id": "VARCHAR",
    "line_items": [_LINE],
    "taxes": [_TAX],
    "returns": [_RETURN],
    "tenders": [_TENDER],
    "total_money": _MONEY,
    "total_tax_money": _MONEY,
    "total_discount_money": _MONEY,
    "total_tip_money": _MONEY,
    "total_service_charge_money": _MONEY,
}

_NATIVE_MACROS = (
    # rows._amount: no money -> NULL; a money object without an amount -> 0 (records.Money's default).
    "CREATE OR REPLACE TEMP MACRO amount(m) AS CASE WHEN m IS NULL THEN NULL ELSE coalesce(m.amount, 0) END",
    # rows._currency: the first money with a non-empty currency.
    "CREATE OR REPLACE TEMP MACRO cur(m) AS CASE WHEN m.currency <> '' THEN m.currency END",
    # rows._tax_split: a line's applied taxes, INCLUSIVE when the order's (or return's) tax with that
    # tax_uid (the last one, as a dict built from the list keeps) says so, else additive.
    "CREATE OR REPLACE TEMP MACRO tax_part(applied, taxes, inclusive) AS coalesce(list_sum(list_transform(applied,"
    " lambda a: CASE WHEN coalesce(list_filter(taxes, lambda t: t.uid = coalesce(a.tax_uid, ''))[-1].type"
    " = 'INCLUSIVE', false) = inclusive THEN coalesce(a.applied_money.amount, 0) ELSE 0 END)), 0)",
    # rows._modifiers_amount
    "CREATE OR REPLACE TEMP MACRO modifiers_amount(mods) AS"
    " coalesce(list_sum(list_transform(mods, lambda m: coalesce(m.total_price_money.amount, 0))), 0)",
)

_NATIVE_INSERTS = (
    """INSERT INTO stg_orders
    SELECT o.id, o.location_id, o.state, o.version, o.created_at, o.updated_at, o.closed_at, o.source.name,
        o.customer_id, cur(o.total_money), amount(o.total_money), amount(o.total_tax_money),
        amount(o.total_discount_money), amount(o.total_tip_money), amount(o.total_service_charge_money),
        raw, now()
    FROM native_src""",
    """INSERT INTO stg_order_line_items
    SELECT order_id, l.uid, l.catalog_object_id, l.catalog_version, l.name, l.variation_name,
        coalesce(nullif(l.item_type, ''), 'ITEM'), l.quantity,
        coalesce(cur(l.gross_sales_money), cur(l.total_money), cur(l.base_price_money), currency),
        amount(l.base_price_money), amount(l.variation_total_price_money), amount(l.gross_sales_money),
        modifiers_amount(l.modifiers), amount(l.total_discount_money), amount(l.total_tax_money),
        tax_part(l.applied_taxes, taxes, false), tax_part(l.applied_taxes, taxes, true), amount(l.total_money)
    FROM (SELECT o.id AS order_id, cur(o.total_money) AS currency, o.taxes AS taxes, unnest(o.line_items) AS l
          FROM native_src)""",
    """INSERT INTO stg_order_return_line_items
    SELECT order_id, l.uid, return_uid, source_order_id, l.source_line_item_uid, l.catalog_object_id, l.name,
        l.variation_name, coalesce(nullif(l.item_type, ''), 'ITEM'), l.quantity,
        coalesce(cur(l.gross_return_money), cur(l.total_money), currency),
        amount(l.base_price_money), amount(l.variation_total_price_money), amount(l.gross_return_money),
        modifiers_amount(l.return_modifiers), amount(l.total_discount_money), amount(l.total_tax_money),
        tax_part(l.applied_taxes, taxes, false), tax_part(l.applied_taxes, taxes, true), amount(l.total_money)
    FROM (SELECT order_id, currency, r.uid AS return_uid, r.source_order_id, r.return_taxes AS taxes,
                 unnest(r.return_line_items) AS l
          FROM (SELECT o.id AS order_id, cur(o.total_money) AS currency, unnest(o.returns) AS r FROM native_src))""",
    """INSERT INTO stg_order_tenders
    SELECT order_id, t.id, t.type, coalesce(cur(t.amount_money), currency), amount(t.amount_money),
        coalesce(amount(t.tip_money), 0), amount(t.processing_fee_money), t.card_details.card.card_brand,
        t.payment_id, t.customer_id
    FROM (SELECT o.id AS order_id, cur(o.total_money) AS currency, unnest(o.tenders) AS t FROM native_src)""",
)

NATIVE_TABLES = (staging.ORDERS, staging.ORDER_LINE_ITEMS, staging.ORDER_RETURN_LINE_ITEMS, staging.ORDER_TENDERS)
"""The staging tables the orders stream writes, and native_normalise too."""


def native_normalise(pages: Sequence[Path], db: Path) -> None:
    """DuckDB-native normalisation of Square order pages into the orders stream's staging tables.

    ``pages`` are files holding one ``SearchOrders`` response body each (``{"orders": [...],
    "cursor": ...}``, as Square serves them); ``db`` is a new DuckDB file. It is opened the way the
    sync opens its warehouse (``database.connect``: TimeZone UTC, the same memory limit), the four
    tables are created with our DDL (``staging``), and SQL alone fills them
    with what ``rows.order_rows`` computes: each order's JSON is kept as ``raw`` and parsed with an
    explicit structure (``from_json``, nothing inferred), derived values computed the same way.
    """
    if db.exists():
        raise FileExistsError(f"{db} exists: native_normalise writes a fresh database")
    con = connect(db)
    try:
        for table in NATIVE_TABLES:
            con.execute(table.ddl())
        for macro in _NATIVE_MACROS:
            con.execute(macro)
        # read_text + from_json: the same explicit parse as read_json(columns=...), at ~1/8 of its CPU here.
        con.execute(
            "CREATE TEMP TABLE native_src AS SELECT raw, from_json(raw, $order) AS o FROM ("
            ' SELECT unnest(from_json(content, \'{"orders": ["JSON"]}\').orders) AS raw FROM read_text($files))',
            {"files": [str(page) for page in pages], "order": json.dumps(ORDER_STRUCTURE)},
        )
        for insert in _NATIVE_INSERTS:
            con.execute(insert)
    finally:
        con.close()


def write_pages(orders: Sequence[dict[str, Any]], directory: Path, page_size: int) -> list[Path]:
    """``orders`` as files of SearchOrders response bodies of ``page_size`` orders each."""
    directory.mkdir(parents=True, exist_ok=True)
    pages = []
    for number, start in enumerate(range(0, len(orders), page_size)):
        page = directory / f"page-{number:06d}.json"
        page.write_bytes(orjson.dumps({"orders": orders[start : start + page_size]}))
        pages.append(page)
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--orders-per-day", type=int, default=200)
    args = parser.parse_args()

    data = generate(DemoConfig(days=args.days, orders_per_day=args.orders_per_day))  # what the emulator serves
    orders = list(data.orders)  # the demo store decodes each order on access: decode once
    lines = sum(len(o.get("line_items", [])) for o in orders)
    print(f"demo: {len(orders):,} orders, {lines:,} line items")

    stage_profile(orders[:5000])

    sample = orders[:500]
    page = json.loads(json.dumps({"orders": sample}))
    started = time.perf_counter()
    construct_type(type_=SearchOrdersResponse, object_=page)
    sdk_s = time.perf_counter() - started
    started = time.perf_counter()
    for order in page["orders"]:
        validate_record(Order, order)
    ours_s = time.perf_counter() - started
    print(
        f"parse 500 orders: SDK typed models {sdk_s * 1000:.0f} ms, our pydantic models {ours_s * 1000:.1f} ms "
        f"-> SDK / ours = {sdk_s / ours_s:.0f}x"
    )

    with tempfile.TemporaryDirectory() as tmp, emulator(TOKEN, args.days, args.orders_per_day) as base_url:
        db = Path(tmp) / "bench.duckdb"
        settings = Settings(SQUARE_ACCESS_TOKEN=TOKEN, SQUARE_BASE_URL=base_url)
        started = time.perf_counter()
        result = asyncio.run(sync_warehouse(settings, db, full_refresh=True))
        sync_s = time.perf_counter() - started
        assert result.report.ok, result.report.failed

        pages = write_pages(orders, Path(tmp) / "pages", 1000)
        started = time.perf_counter()
        native_normalise(pages, Path(tmp) / "native.duckdb")
        native_s = time.perf_counter() - started

    print(f"full sync (HTTP + validate + upsert + star): {sync_s:.2f} s = {lines / sync_s:,.0f} line items/s")
    native_rate = lines / native_s
    print(f"DuckDB-native JSON normalisation of the same orders: {native_s:.2f} s = {native_rate:,.0f} line items/s")
    print(f"ratio sync / native = {sync_s / native_s:.1f}x (issue 4 target: within 3x)")


if __name__ == "__main__":
    main()
