"""The compact object store behind the demo's orders, payments and refunds reads like a list of dicts."""

from __future__ import annotations

import json
import random
import threading

import pytest

from square_bi.square.demo import store as store_module
from square_bi.square.demo.store import BLOCK_ROWS, NO_TIME, ObjectStore, OrderStore
from square_bi.square.demo.timefmt import format_ms, parse_rfc3339_us


def _objects(count: int, seed: int = 3) -> list[dict[str, object]]:
    rng = random.Random(seed)
    objects = []
    for number in range(count):
        created_ms = 1_700_000_000_000 + rng.randrange(10**9)
        objects.append(
            {
                "id": f"obj-{number:05d}",
                "location_id": rng.choice(("L1", "L2")),
                "created_at": format_ms(created_ms),
                "updated_at": format_ms(created_ms + rng.randrange(10**6)),
                "note": "é" * rng.randrange(5),  # non-ASCII survives the round trip
                "amount_money": {"amount": rng.randrange(-500, 5000), "currency": "USD"},
            }
        )
    return objects


def test_a_store_gives_back_every_object_it_was_given_across_several_blocks() -> None:
    objects = _objects(3 * BLOCK_ROWS + 5)  # full blocks and an open one
    store = ObjectStore(objects)
    assert len(store) == len(objects)
    assert list(store) == objects
    assert store[7] == objects[7] and store[-1] == objects[-1]
    assert store[BLOCK_ROWS - 2 : BLOCK_ROWS + 3] == objects[BLOCK_ROWS - 2 : BLOCK_ROWS + 3]
    assert json.loads(store.json(40)) == objects[40]
    assert store.get("obj-00010") == objects[10] and store.get("missing") is None


def test_reading_an_object_gives_a_fresh_copy_and_put_replaces_it_by_id() -> None:
    objects = _objects(2 * BLOCK_ROWS)
    store = ObjectStore(objects)
    copy = store[3]
    copy["amount_money"]["amount"] = 123_456
    assert store[3] == objects[3]
    copy["updated_at"] = "2031-01-01T00:00:00Z"
    assert store.put(copy) == 3
    assert len(store) == len(objects)
    assert store[3] == copy and store.updated_us[3] == parse_rfc3339_us("2031-01-01T00:00:00Z")
    assert [store[row] for row in range(len(store)) if row != 3] == objects[:3] + objects[4:]


def test_sorting_orders_rows_by_update_then_id_and_keeps_replacements_and_columns() -> None:
    objects = _objects(5 * BLOCK_ROWS + 7, seed=9)
    objects[11]["updated_at"] = objects[12]["updated_at"]  # a tie, broken by id
    objects[5]["updated_at"] = format_ms(1_700_000_000_000 + 2 * 10**9)  # updated after every later one
    store = ObjectStore(objects)
    changed = dict(objects[2], location_id="L9")
    store.put(changed)  # replaced after its block was compressed
    late = dict(objects[-1], note="changed while still in the open block")
    store.put(late)
    expected = sorted(
        [changed if o["id"] == changed["id"] else late if o["id"] == late["id"] else o for o in objects],
        key=lambda o: (parse_rfc3339_us(str(o["updated_at"])), o["id"]),
    )
    store.sort()
    assert list(store) == expected
    assert store.ids == [o["id"] for o in expected]
    assert list(store.created_us) == [parse_rfc3339_us(str(o["created_at"])) for o in expected]
    assert list(store.updated_us) == [parse_rfc3339_us(str(o["updated_at"])) for o in expected]
    assert store.location_ids == [o["location_id"] for o in expected]
    assert all(store.row(str(o["id"])) == row for row, o in enumerate(expected))
    appended = dict(objects[0], id="obj-new")
    assert store.put(appended) == len(expected)
    assert store[-1] == appended


def test_after_sorting_neighbouring_rows_share_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    objects = _objects(8 * BLOCK_ROWS, seed=5)  # stored in no particular time order
    store = ObjectStore(objects)
    store.sort()
    decompressed: list[int] = []

    decompress = store_module._decompress

    def counting(data: bytes, size: int) -> bytes:
        decompressed.append(size)
        return decompress(data, size)

    monkeypatch.setattr(store_module, "_decompress", counting)
    page = [store[row] for row in range(2 * BLOCK_ROWS, 3 * BLOCK_ROWS)]  # cold cache: nothing read yet

    assert (
        page
        == sorted(objects, key=lambda o: (parse_rfc3339_us(str(o["updated_at"])), o["id"]))[
            2 * BLOCK_ROWS : 3 * BLOCK_ROWS
        ]
    )
    assert len(decompressed) == 1  # one block, not one per row's old neighbours


def test_an_order_store_keeps_the_columns_order_search_filters_on() -> None:
    sale = {
        "id": "order-1",
        "location_id": "L1",
        "source": {"name": "Square Online"},
        "line_items": [{"uid": "a", "item_type": "GIFT_CARD"}, {"uid": "b", "item_type": "ITEM"}],
        "tenders": [{"id": "t", "customer_id": "C2"}],
        "customer_id": "C1",
        "created_at": "2024-05-01T10:00:00.250Z",
        "updated_at": "2024-05-01T10:05:00Z",
        "closed_at": "2024-05-01T10:04:00.100Z",
        "state": "COMPLETED",
        "version": 4,
    }
    open_order = {
        "id": "order-2",
        "location_id": "L2",
        "source": {"name": "Square Point of Sale"},
        "returns": [{"uid": "r", "source_order_id": "order-1"}],
        "created_at": "2024-05-01T09:00:00Z",
        "updated_at": "2024-05-01T09:01:00Z",
        "state": "OPEN",
        "version": 1,
    }
    store = OrderStore([sale, open_order])
    assert store.closed_us[0] == parse_rfc3339_us("2024-05-01T10:04:00.100Z") and store.closed_us[1] == NO_TIME
    assert store.states == ["COMPLETED", "OPEN"] and store.sources == ["Square Online", "Square Point of Sale"]
    assert store.customers == [frozenset({"C1", "C2"}), None]
    assert store.versions == [4, 1] and store.is_return == [False, True] and store.sells_items == [True, False]
    anonymous_tender = dict(sale, id="order-3", tenders=[{"id": "t3"}])
    assert store.customers[store.put(anonymous_tender)] == "C1"  # one customer: kept as the id itself
    store.sort()
    assert store.ids == ["order-2", "order-1", "order-3"] and store.states == ["OPEN", "COMPLETED", "COMPLETED"]


def test_reading_while_another_thread_stores_sees_only_complete_objects() -> None:
    objects = _objects(20 * BLOCK_ROWS, seed=4)
    store = ObjectStore(objects[:1])
    by_id = {o["id"]: o for o in objects}
    done = threading.Event()

    def write() -> None:
        for obj in objects[1:]:
            store.put(obj)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    reads = 0
    while not done.is_set() or reads == 0:
        newest = store[len(store) - 1]
        assert newest == by_id[newest["id"]]
        reads += 1
    writer.join()
    assert list(store) == objects
