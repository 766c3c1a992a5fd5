"""Validating a page at the boundary: records that break what the warehouse relies on go to dead
letters under their id, with an error naming the problem; the rest of the page goes on."""

from __future__ import annotations

import copy

import orjson
import pytest

from shop_support import RawMerchant
from square_bi.extract.records import Order
from square_bi.extract.validation import validate_objects


def test_valid_orders_pass_whole_and_none_is_dead(raw_shop: RawMerchant) -> None:
    orders = raw_shop.orders[:50]
    valid, raw, dead = validate_objects(Order, orders)
    assert [o["id"] for o in valid] == [o["id"] for o in orders]
    assert raw == orders
    assert dead == []


@pytest.mark.parametrize(("children", "key"), [("line_items", "uid"), ("tenders", "id")])
def test_an_order_whose_two_children_share_a_key_is_a_dead_letter_naming_the_key(
    raw_shop: RawMerchant, children: str, key: str
) -> None:
    fine = copy.deepcopy(raw_shop.orders[0])
    broken = copy.deepcopy(next(o for o in raw_shop.orders if o.get(children)))
    items = broken[children]
    items.append({**copy.deepcopy(items[0]), key: items[0][key]})

    valid, _, dead = validate_objects(Order, [fine, broken])

    assert [o["id"] for o in valid] == [fine["id"]]
    [letter] = dead
    assert letter.record_id == broken["id"]
    assert repr(items[0][key]) in letter.error and key in letter.error
    assert letter.raw == broken


def test_return_line_items_of_different_returns_may_not_share_a_uid(raw_shop: RawMerchant) -> None:
    order = next(o for o in raw_shop.orders if any(r.get("return_line_items") for r in o.get("returns", [])))
    broken = copy.deepcopy(order)
    first = next(r for r in broken["returns"] if r.get("return_line_items"))
    second = copy.deepcopy(first)
    second["uid"] = f"{first.get('uid')}-again"
    broken["returns"].append(second)

    _, _, dead = validate_objects(Order, [broken])

    [letter] = dead
    assert "return line items" in letter.error


def test_orders_given_as_json_text_validate_as_their_parsed_json_does_and_keep_their_text(
    raw_shop: RawMerchant,
) -> None:
    orders = copy.deepcopy(raw_shop.orders[:20])
    orders[3]["line_items"][0]["quantity"] = "lots"  # not a decimal
    del orders[7]["location_id"]
    texts = [orjson.dumps(order).decode() for order in orders]

    from_dicts = validate_objects(Order, orders)
    valid, raw, dead = validate_objects(Order, texts)

    assert valid == from_dicts[0]
    assert raw == [texts[i] for i in range(20) if i not in (3, 7)]
    assert [(d.record_id, d.error, d.raw) for d in dead] == [(d.record_id, d.error, d.raw) for d in from_dicts[2]]
    assert [d.record_id for d in dead] == [orders[3]["id"], orders[7]["id"]]
    assert all(d.raw == orders[i] for d, i in zip(dead, (3, 7), strict=True))
