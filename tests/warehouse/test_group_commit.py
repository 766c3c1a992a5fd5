"""Pages that queue up for the writer commit together, and behave exactly as if committed one by one:
the newest version of an object wins with its own line items, each page's checkpoint lands with
its rows, and a page that cannot be written fails alone."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shop_support import RawMerchant
from square_bi.extract.records import Order, validate_record
from square_bi.extract.state import Page, PartitionState
from square_bi.warehouse import sink as sink_module
from square_bi.warehouse.database import Warehouse
from square_bi.warehouse.sink import CommitSkippedError, DuckDBSink, _Queued
from square_bi.warehouse.sync import initialize


def _page(partition: str, orders: list[dict[str, Any]]) -> Page:
    records = [validate_record(Order, order) for order in orders]
    return Page("orders", partition, records, orders, [], PartitionState(cursor=f"after-{partition}"))


def _order_with_lines(raw_shop: RawMerchant, count: int) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in raw_shop.orders if len(o.get("line_items", [])) >= count))


def _commit_together(db: Path, pages: list[Page]) -> list[BaseException | None]:
    """Commit ``pages`` concurrently (so they queue up and the writer takes them as one group)."""

    async def run() -> list[BaseException | None]:
        sink = DuckDBSink(warehouse)
        results = await asyncio.gather(*(sink.submit(page) for page in pages), return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    with Warehouse(db) as warehouse:
        warehouse.run(initialize)
        return asyncio.run(run())


def _lines(db: Path, order_id: str) -> list[tuple[str, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT uid, gross_sales_amount FROM stg_order_line_items WHERE order_id = ? ORDER BY uid", [order_id]
        ).fetchall()


def _expected_lines(order: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted((line["uid"], line["gross_sales_money"]["amount"]) for line in order["line_items"])


@pytest.mark.parametrize("newer_first", [True, False])
def test_an_order_read_twice_in_one_group_keeps_its_newest_version_and_only_its_lines(
    raw_shop: RawMerchant, tmp_path: Path, newer_first: bool
) -> None:
    older = _order_with_lines(raw_shop, 2)
    newer = copy.deepcopy(older)
    newer["version"] = older["version"] + 1
    newer["line_items"] = newer["line_items"][:1]  # a line removed in the newer version
    newer["line_items"][0]["uid"] = "RENAMED-LINE"
    pages = [_page("P-new", [newer]), _page("P-old", [older])]
    db = tmp_path / "grouped.duckdb"

    errors = _commit_together(db, pages if newer_first else pages[::-1])

    assert errors == [None, None]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT version FROM stg_orders WHERE id = ?", [older["id"]]).fetchall() == [
            (newer["version"],)
        ]
        checkpoints = con.execute("SELECT partition, cursor FROM sync_checkpoints ORDER BY partition").fetchall()
    assert _lines(db, older["id"]) == _expected_lines(newer)
    assert checkpoints == [("P-new", "after-P-new"), ("P-old", "after-P-old")]


def test_the_same_version_read_twice_in_one_group_is_stored_once_with_its_lines_once(
    raw_shop: RawMerchant, tmp_path: Path
) -> None:
    order = _order_with_lines(raw_shop, 2)
    db = tmp_path / "twice.duckdb"

    errors = _commit_together(db, [_page("P1", [order]), _page("P2", [copy.deepcopy(order)])])

    assert errors == [None, None]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM stg_orders").fetchall() == [(1,)]
    assert _lines(db, order["id"]) == _expected_lines(order)


def test_a_page_that_cannot_be_written_fails_alone_and_the_rest_of_its_group_commits(
    raw_shop: RawMerchant, tmp_path: Path
) -> None:
    good = [copy.deepcopy(o) for o in raw_shop.orders[:6]]
    broken = _order_with_lines(raw_shop, 1)
    broken["id"] = "ORDER-THE-DATABASE-REFUSES"
    bad_page = _page("BAD", [broken])
    bad_page.records[0]["line_items"][0]["uid"] = None  # past validation: breaks the key's NOT NULL
    db = tmp_path / "bad.duckdb"

    errors = _commit_together(db, [_page("A", good[:3]), bad_page, _page("B", good[3:])])

    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], duckdb.ConstraintException)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = {order_id for (order_id,) in con.execute("SELECT id FROM stg_orders").fetchall()}
        partitions = [p for (p,) in con.execute("SELECT partition FROM sync_checkpoints ORDER BY 1").fetchall()]
    assert stored == {o["id"] for o in good}
    assert partitions == ["A", "B"]


def test_two_pages_of_one_partition_in_one_group_leave_the_later_pages_checkpoint(
    raw_shop: RawMerchant, tmp_path: Path
) -> None:
    first, second = (copy.deepcopy(o) for o in raw_shop.orders[:2])
    earlier = Page("orders", "P", [validate_record(Order, first)], [first], [], PartitionState(cursor="page-1"))
    later = Page(
        "orders", "P", [validate_record(Order, second)], [second], [], PartitionState(cursor="page-2", rows_total=2)
    )
    db = tmp_path / "one-partition.duckdb"

    errors = _commit_together(db, [earlier, later, _page("Q", [copy.deepcopy(raw_shop.orders[2])])])

    assert errors == [None, None, None]
    with duckdb.connect(str(db), read_only=True) as con:
        checkpoints = con.execute(
            "SELECT partition, cursor, rows_total FROM sync_checkpoints ORDER BY partition"
        ).fetchall()
        assert con.execute("SELECT count(*) FROM stg_orders").fetchall() == [(3,)]
    assert checkpoints == [("P", "page-2", 2), ("Q", "after-Q", 0)]


def test_after_a_page_that_cannot_be_written_no_later_page_of_its_partition_commits(
    raw_shop: RawMerchant, tmp_path: Path
) -> None:
    first, third, other = (copy.deepcopy(o) for o in raw_shop.orders[:3])
    broken = _order_with_lines(raw_shop, 1)
    broken["id"] = "ORDER-THE-DATABASE-REFUSES"
    pages = [
        Page("orders", "P", [validate_record(Order, first)], [first], [], PartitionState(cursor="page-1")),
        Page("orders", "P", [validate_record(Order, broken)], [broken], [], PartitionState(cursor="page-2")),
        Page("orders", "P", [validate_record(Order, third)], [third], [], PartitionState(cursor="page-3")),
        _page("Q", [other]),
    ]
    pages[1].records[0]["line_items"][0]["uid"] = None  # past validation: breaks the key's NOT NULL
    db = tmp_path / "chained.duckdb"

    async def run() -> list[BaseException | None]:
        sink = DuckDBSink(warehouse)
        first_page = sink.submit(pages[0])
        second_page = sink.submit(pages[1], after=first_page)
        futures = [first_page, second_page, sink.submit(pages[2], after=second_page), sink.submit(pages[3])]
        results = await asyncio.gather(*futures, return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    with Warehouse(db) as warehouse:
        warehouse.run(initialize)
        errors = asyncio.run(run())

    assert errors[0] is None and errors[3] is None
    assert isinstance(errors[1], duckdb.ConstraintException)
    assert isinstance(errors[2], CommitSkippedError)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = {order_id for (order_id,) in con.execute("SELECT id FROM stg_orders").fetchall()}
        checkpoints = con.execute("SELECT partition, cursor FROM sync_checkpoints ORDER BY partition").fetchall()
    assert stored == {first["id"], other["id"]}
    assert checkpoints == [("P", "page-1"), ("Q", "after-Q")]


class GroupRecordingSink(DuckDBSink):
    """Records the partitions of each group it writes."""

    def __init__(self, warehouse: Warehouse) -> None:
        super().__init__(warehouse)
        self.groups: list[list[str]] = []

    async def _write(self, group: list[_Queued]) -> None:
        self.groups.append([queued.partition for queued in group])
        await super()._write(group)


def _groups_written(db: Path, scenario: Any) -> list[list[str]]:
    async def run() -> list[list[str]]:
        sink = GroupRecordingSink(warehouse)
        await scenario(sink)
        return sink.groups

    with Warehouse(db) as warehouse:
        warehouse.run(initialize)
        return asyncio.run(run())


def test_while_nobody_waits_the_writer_keeps_collecting_pages_into_one_group(
    raw_shop: RawMerchant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sink_module, "GROUP_LINGER_MAX_S", 5.0)

    async def scenario(sink: DuckDBSink) -> None:
        first = sink.submit(_page("A", [copy.deepcopy(raw_shop.orders[0])]))
        await asyncio.sleep(sink_module.GROUP_LINGER_S * 5)  # well past the first wait
        second = sink.submit(_page("B", [copy.deepcopy(raw_shop.orders[1])]))
        await asyncio.gather(first, second)

    assert _groups_written(tmp_path / "collected.duckdb", scenario) == [["A", "B"]]


def test_a_page_someone_waits_for_is_written_without_waiting_for_more(
    raw_shop: RawMerchant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sink_module, "GROUP_LINGER_MAX_S", 60.0)

    async def scenario(sink: DuckDBSink) -> None:
        first = sink.submit(_page("A", [copy.deepcopy(raw_shop.orders[0])]))
        sink.commit_soon()
        await asyncio.wait_for(first, timeout=30)  # not the 60 s the writer would wait for more
        sink.commit_soon()
        await sink.submit(_page("B", [copy.deepcopy(raw_shop.orders[1])]))

    assert _groups_written(tmp_path / "hurried.duckdb", scenario) == [["A"], ["B"]]
