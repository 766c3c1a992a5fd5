"""A page staged as soon as it is validated (Arrow tables, dead letters' JSON) commits exactly what
the page itself would have: same rows, same dead letters, same checkpoint."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import duckdb

from shop_support import RawMerchant
from square_bi.extract.records import Order, validate_record
from square_bi.extract.state import DeadRecord, Page, PartitionState
from square_bi.warehouse.database import Warehouse
from square_bi.warehouse.sink import DuckDBSink
from square_bi.warehouse.sync import initialize

BROKEN = {"id": "BROKEN-ORDER", "location_id": "L1", "line_items": [{"uid": "x", "quantity": "many"}]}


def _page(raw_shop: RawMerchant) -> Page:
    orders = raw_shop.orders[:40]
    records: list[Any] = [validate_record(Order, order) for order in orders]
    dead = [DeadRecord("BROKEN-ORDER", "line_items.0.quantity: not a decimal", BROKEN)]
    state = PartitionState(cursor="next-page", rows_total=len(orders))
    return Page("orders", "L1", records, list(orders), dead, state)


def _commit(db: Path, page: Page, *, staged: bool) -> None:
    with Warehouse(db) as warehouse:
        warehouse.run(initialize)
        sink = DuckDBSink(warehouse)

        async def commit() -> None:
            await sink.submit(sink.stage(page) if staged else page)

        asyncio.run(commit())


def _contents(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "orders": "SELECT id, version, total_amount, raw FROM stg_orders ORDER BY id",
        "lines": "SELECT order_id, uid, quantity, gross_sales_amount FROM stg_order_line_items ORDER BY ALL",
        "dead": "SELECT stream, record_id, error, raw_json FROM dead_letters",
        "checkpoint": "SELECT stream, partition, cursor, rows_total FROM sync_checkpoints",
    }
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in queries.items()}


def test_a_staged_page_holds_columns_instead_of_models_and_json(raw_shop: RawMerchant, tmp_path: Path) -> None:
    with Warehouse(tmp_path / "stage.duckdb") as warehouse:
        staged = DuckDBSink(warehouse).stage(_page(raw_shop))
    assert (staged.records, staged.raw, staged.dead) == ([], [], [])
    assert staged.staged is not None
    assert staged.state.cursor == "next-page"


def test_a_staged_page_commits_the_same_rows_dead_letters_and_checkpoint(raw_shop: RawMerchant, tmp_path: Path) -> None:
    _commit(tmp_path / "direct.duckdb", _page(raw_shop), staged=False)
    _commit(tmp_path / "staged.duckdb", _page(raw_shop), staged=True)

    direct, staged = _contents(tmp_path / "direct.duckdb"), _contents(tmp_path / "staged.duckdb")
    assert staged == direct
    # ... and what both hold is Square's JSON, not something either path made up.
    orders = raw_shop.orders[:40]
    assert [row[0] for row in staged["orders"]] == sorted(order["id"] for order in orders)
    assert len(staged["lines"]) == sum(len(order.get("line_items", [])) for order in orders)
    ((stream, record_id, _, raw_json),) = staged["dead"]
    assert (stream, record_id, json.loads(raw_json)) == ("orders", "BROKEN-ORDER", BROKEN)
    assert staged["checkpoint"] == [("orders", "L1", "next-page", 40)]
