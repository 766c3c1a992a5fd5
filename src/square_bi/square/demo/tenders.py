"""How the buyer paid: Square ``Tender`` objects on completed orders.

Shapes and rules (Square's ``Tender``):

* ``amount_money`` is the whole amount of the tender *including* its ``tip_money`` (Square's
  spec: "The total amount of the tender, including tip_money"); the tenders of an order sum to
  the order's ``total_money``, which includes the tips;
* ``CARD`` tenders carry ``card_details`` (``status: CAPTURED``, the card's brand, last four
  digits, expiry and type, and the entry method: contactless, chip or swipe at the counter, keyed
  or card-on-file online), a ``tip_money`` (zero unless tipped) and Square's
  ``processing_fee_money`` (2.6 % + 10 cents in person, 2.9 % + 30 cents online in USD, other
  currencies see :data:`PROCESSING_FEES`; rounded half up);
* ``CASH`` tenders carry ``cash_details``: ``buyer_tendered_money`` (a round note or the exact
  amount) and ``change_back_money`` = tendered - amount; cash is never tipped here and pays no
  processing fee;
* about 30 % of counter card payments carry a tip (15-25 % of the bill, or a round amount),
  about 2 % of counter sales are split between cash and a card; online orders always pay by
  card, without a tip;
* the tender's ``id`` is also its ``payment_id`` and ``transaction_id`` is the order id.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

from .draws import below, pick
from .ids import IdFactory
from .pricing import half_up, percent_of

JSONObject = dict[str, Any]
MoneyFactory = Callable[[int, str], JSONObject]

CARD_SHARE = 0.78  # of counter payments; the rest is cash
TIP_SHARE = 0.30  # of counter card payments
SPLIT_SHARE = 0.02  # of counter payments: part cash, part card
TIP_PERCENTS = (15, 18, 20, 25)
CARD_BRANDS = ("VISA", "MASTERCARD", "AMERICAN_EXPRESS", "DISCOVER")
CARD_BRAND_WEIGHTS = (52, 28, 12, 8)
COUNTER_ENTRY = ("CONTACTLESS", "EMV", "SWIPED")
COUNTER_ENTRY_WEIGHTS = (72, 24, 4)
ONLINE_ENTRY = ("KEYED", "ON_FILE")
CARD_BRAND_CUM_WEIGHTS = tuple(itertools.accumulate(CARD_BRAND_WEIGHTS))
COUNTER_ENTRY_CUM_WEIGHTS = tuple(itertools.accumulate(COUNTER_ENTRY_WEIGHTS))
# currency -> ((milli-percent, fixed minor units) in person, (milli-percent, fixed) online)
PROCESSING_FEES: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "USD": ((2600, 10), (2900, 30)),
    "CAD": ((2650, 0), (2900, 30)),
    "GBP": ((1750, 0), (2500, 20)),
    "EUR": ((1650, 0), (2500, 25)),
    "AUD": ((1600, 0), (2200, 0)),
    "NZD": ((1900, 0), (2900, 30)),
    "JPY": ((3250, 0), (3600, 0)),
}
# currency -> note sizes in minor units a buyer hands over
CASH_NOTES: dict[str, tuple[int, ...]] = {"JPY": (100, 1000, 5000, 10000)}
DEFAULT_NOTES = (100, 500, 1000, 2000)


class TenderMaker:
    """Draws the tenders of one order at a time from a seeded stream."""

    def __init__(self, rng: random.Random, ids: IdFactory, money: MoneyFactory) -> None:
        self._rng = rng
        self._ids = ids
        self._money = money

    def pay(
        self,
        *,
        order_id: str,
        location_id: str,
        currency: str,
        due: int,
        online: bool,
        created_at: str,
        tips: bool = True,
    ) -> tuple[list[JSONObject], int]:
        """Tenders paying ``due`` (tips come on top); returns ``(tenders, total tip)``."""
        rng = self._rng
        if online or not tips:
            return [self._card(order_id, location_id, currency, due, 0, online, created_at)], 0
        if due >= 400 and rng.random() < SPLIT_SHARE:
            cash_part = max(100, (due // 2) // 100 * 100)
            return [
                self._cash(order_id, location_id, currency, cash_part, created_at),
                self._card(order_id, location_id, currency, due - cash_part, 0, online, created_at),
            ], 0
        if rng.random() >= CARD_SHARE:
            return [self._cash(order_id, location_id, currency, due, created_at)], 0
        tip = 0
        if rng.random() < TIP_SHARE:
            percent_tip = rng.random() < 0.75  # else a round amount
            tip = half_up(due * rng.choice(TIP_PERCENTS), 100) if percent_tip else rng.choice((100, 200))
        return [self._card(order_id, location_id, currency, due, tip, online, created_at)], tip

    def _base(
        self, order_id: str, location_id: str, created_at: str, kind: str, amount: int, currency: str
    ) -> JSONObject:
        tender_id = self._ids.tender()
        return {
            "id": tender_id,
            "location_id": location_id,
            "transaction_id": order_id,
            "created_at": created_at,
            "amount_money": self._money(amount, currency),
            "type": kind,
            "payment_id": tender_id,
        }

    def _card(
        self, order_id: str, location_id: str, currency: str, part: int, tip: int, online: bool, created_at: str
    ) -> JSONObject:
        rng = self._rng
        amount = part + tip
        tender = self._base(order_id, location_id, created_at, "CARD", amount, currency)
        tender["tip_money"] = self._money(tip, currency)
        counter_fee, online_fee = PROCESSING_FEES.get(currency, ((2600, 0), (2900, 0)))
        rate, fixed = online_fee if online else counter_fee
        tender["processing_fee_money"] = self._money(percent_of(amount, rate) + fixed, currency)
        entry = rng.choice(ONLINE_ENTRY) if online else pick(rng, COUNTER_ENTRY, COUNTER_ENTRY_CUM_WEIGHTS)
        tender["card_details"] = {
            "status": "CAPTURED",
            "card": {
                "card_brand": pick(rng, CARD_BRANDS, CARD_BRAND_CUM_WEIGHTS),
                "last_4": f"{below(rng, 10_000):04d}",
                "exp_month": 1 + below(rng, 12),
                "exp_year": 2025 + below(rng, 6),
                "card_type": "CREDIT" if rng.random() < 0.6 else "DEBIT",
            },
            "entry_method": entry,
        }
        return tender

    def _cash(self, order_id: str, location_id: str, currency: str, amount: int, created_at: str) -> JSONObject:
        tender = self._base(order_id, location_id, created_at, "CASH", amount, currency)
        if self._rng.random() < 0.2:
            tendered = amount
        else:
            note = self._rng.choice(CASH_NOTES.get(currency, DEFAULT_NOTES))
            tendered = -(-amount // note) * note
        tender["cash_details"] = {
            "buyer_tendered_money": self._money(tendered, currency),
            "change_back_money": self._money(tendered - amount, currency),
        }
        return tender
