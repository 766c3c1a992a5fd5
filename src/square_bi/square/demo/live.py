"""A live demo merchant: a simulated clock and a stream of changes that follows it.

``LiveMerchant(data, LiveConfig(...))`` continues a generated :class:`DemoData` past its anchor.
Changes are *scheduled* on simulated time and applied by :meth:`LiveMerchant.advance_to`, which
applies, in time order, every change due at or before the time it is given (the app calls it
lazily at the start of each request with its clock's reading; tests call it, or move a manual
clock, by hand). Each kind of change arrives as a Poisson process whose mean rate is a multiple of
``LiveConfig.rate``, the number of **new orders per simulated hour** across all locations:

* new orders (``rate`` per hour), at a location picked by its traffic, built by the generator's
  own ``OrderSynthesizer`` (same baskets, discounts, taxes, tenders and arithmetic): about 6 %
  arrive ``OPEN`` and are completed (tenders, payments, ``version`` + 1) 5 to 45 simulated
  minutes later, about 3 % arrive ``CANCELED``, the rest ``COMPLETED`` with their payments; about
  40 % of completed sales carry a customer;
* returns (4 % of ``rate``): a completed sale closed between 1 hour and 10 days earlier gets a
  return order (``ReturnMaker.build``: one line or all, whole or partial, sometimes an exchange)
  and, when money goes back, refunds of the sale's payments (``PaymentLedger``), which bump the
  payments' ``updated_at``;
* catalog price edits (1/60 of ``rate``): a variation's price moves by -5 %, +5 % or +10 % at every
  location; the variation and its item get a later ``updated_at`` and a higher ``version``, and
  later orders sell the new price;
* item deletions (1/600 of ``rate``, never below three quarters of the original items): the item
  and its variations get ``is_deleted: true`` (served by catalog search with
  ``include_deleted_objects``) and are no longer sold;
* customer edits (5 % of ``rate``): a phone number or the email preference changes,
  ``version`` + 1.

Every change stamps ``updated_at`` with its scheduled (simulated) time, never later than the time
it was applied at, so the data at simulated time ``T`` depends only on the seed and ``T``, not on
how often :meth:`advance_to` was called on the way (deterministic under ``LiveConfig.seed``).
Orders arrive at a flat rate around the clock (no opening hours). The merchant changes ``data`` in
place (orders, payments and refunds are put into its stores, catalog objects and customers edited in
their lists): give it a ``DemoData`` of its own. It reads generated orders from the store only when
it needs one (a sale to return), so following a large merchant costs little more memory than
serving it.

Listeners (:meth:`LiveMerchant.subscribe`) get each batch of changed objects under the merchant's
lock; the app uses that to keep its search indexes current.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from .catalog import CURRENCY_RATES, Catalog, Variation
from .generator import DemoData
from .ids import IdFactory
from .orders import DAY_MS, OrderSynthesizer, money_amounts, money_pool
from .payments import PaymentLedger
from .returns import EXCHANGE_SHARE, PARTIAL_SHARE, WHOLE_SALE_SHARE, ReturnMaker
from .team import TeamRoster
from .tenders import TenderMaker
from .timefmt import datetime_to_us, format_ms, parse_rfc3339_us, us_to_datetime

JSONObject = dict[str, Any]

HOUR_MS = 3_600_000
OPEN_SHARE = 0.06
CANCELED_SHARE = 0.03
OPEN_MINUTES = (5, 45)  # an open order is completed this many simulated minutes later
ONLINE_CUSTOMER_SHARE = 0.9
COUNTER_CUSTOMER_SHARE = 0.33
RETURN_AGE_MS = (2 * HOUR_MS, 10 * DAY_MS)  # a returned sale closed this long before the return
RETURN_GAP_MS = 2 * HOUR_MS  # at least this long after the sale's previous return
PRICE_FACTORS = (95, 105, 110)  # percent
MIN_LIVE_ITEMS_SHARE = 0.75

# kind -> events per new order (the Poisson rate of the kind is rate x this)
EVENT_SHARES: dict[str, float] = {
    "order": 1.0,
    "return": 0.04,
    "price_edit": 1 / 60,
    "item_delete": 1 / 600,
    "customer_update": 0.05,
}
CHANGE_KINDS = (*EVENT_SHARES, "order_complete")


class LiveConfig(BaseModel):
    """How the live merchant changes.

    ``rate``: new orders per simulated hour across all locations (the other changes scale with
    it, see the module docstring). ``speed``: simulated seconds per real second for the default
    clock (60: a simulated hour per real minute). ``seed``: the changes' seed (``None``: the
    demo's own ``DemoConfig.seed``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = Field(default=60.0, gt=0, le=100_000)
    speed: float = Field(default=60.0, gt=0, le=1_000_000)
    seed: int | None = None


class SimulatedClock:
    """``start`` plus the real (monotonic) time elapsed since creation times ``speed``."""

    def __init__(self, start: datetime, speed: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._start_us = datetime_to_us(start)
        self._speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()

    def __call__(self) -> datetime:
        elapsed = self._monotonic() - self._origin
        return us_to_datetime(self._start_us + int(elapsed * self._speed * 1_000_000))


class ManualClock:
    """A clock that only moves when told to (tests): ``clock.now = ...`` or ``clock.advance(...)``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self.now += delta
            return self.now


@dataclass
class LiveChanges:
    """The objects one :meth:`LiveMerchant.advance_to` added or changed, by id."""

    orders: dict[str, JSONObject] = field(default_factory=dict)
    payments: dict[str, JSONObject] = field(default_factory=dict)
    refunds: dict[str, JSONObject] = field(default_factory=dict)
    customers: dict[str, JSONObject] = field(default_factory=dict)
    catalog_objects: dict[str, JSONObject] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any((self.orders, self.payments, self.refunds, self.customers, self.catalog_objects))


Listener = Callable[[LiveChanges], None]


class LiveMerchant:
    """``data`` continued past its anchor by scheduled changes (see the module docstring)."""

    def __init__(self, data: DemoData, config: LiveConfig | None = None) -> None:
        if data.catalog is None:
            raise ValueError("The live merchant needs DemoData from generate() (with its catalog).")
        self.data = data
        self.config = config or LiveConfig()
        self.lock = threading.RLock()
        self.applied: Counter[str] = Counter({kind: 0 for kind in CHANGE_KINDS})
        self._listeners: list[Listener] = []
        seed = self.config.seed if self.config.seed is not None else data.config.seed

        def stream(name: str) -> random.Random:
            return random.Random(f"square-bi-live:{seed}:{name}")

        self._stream = stream
        self.now_us = datetime_to_us(data.anchor)
        now_ms = self.now_us // 1000
        self._money = money_pool()
        self._ids = IdFactory(stream("ids"))
        self._sales_rng = stream("orders")
        self._returns_rng = stream("returns")
        self._rng = stream("changes")
        self._catalog: Catalog = data.catalog
        self._tenders = TenderMaker(self._sales_rng, self._ids, self._money)
        self._rebuild_makers()
        self._ledger = PaymentLedger(
            stream("payments"),
            self._ids,
            self._money,
            TeamRoster(data.team_members),
            now_ms + 1,
            payments=data.payments,
            refunds=data.refunds,
            sale_of=self._order,
        )
        self._catalog_by_id = {obj["id"]: obj for obj in data.catalog_objects}
        self._initial_items = sum(1 for obj in data.catalog_objects if obj["type"] == "ITEM" and not obj["is_deleted"])
        self._locations = sorted(data.locations, key=lambda loc: loc["id"])
        self._traffic = [data.location_traffic.get(loc["id"], 1.0) for loc in self._locations]
        self._customers = sorted(data.customers, key=lambda c: (parse_rfc3339_us(c["created_at"]), c["id"]))
        self._customer_created = [parse_rfc3339_us(c["created_at"]) // 1000 for c in self._customers]
        self._returned: dict[tuple[str, str], int] = {}
        self._last_return_ms: dict[str, int] = {}
        store = data.orders
        for row in range(len(store)):
            if not store.is_return[row]:
                continue
            order = store.object(row)
            for order_return in order.get("returns", ()):
                closed_ms = parse_rfc3339_us(order["closed_at"]) // 1000
                source = order_return["source_order_id"]
                self._last_return_ms[source] = max(closed_ms, self._last_return_ms.get(source, closed_ms))
                for line in order_return["return_line_items"]:
                    key = (order_return["source_order_id"], line["source_line_item_uid"])
                    self._returned[key] = self._returned.get(key, 0) + int(line["quantity"])
        self._sales: list[tuple[int, str]] = sorted(
            (store.closed_us[row] // 1000, store.ids[row])
            for row in range(len(store))
            if store.states[row] == "COMPLETED" and not store.is_return[row] and store.sells_items[row]
        )
        self._queue: list[tuple[int, int, str, str]] = []  # (due ms, sequence, kind, order id)
        self._sequence = 0
        self._arrivals = {kind: stream(f"{kind}:arrivals") for kind in EVENT_SHARES}
        for kind in EVENT_SHARES:
            self._schedule_arrival(kind, now_ms)

    # -- scheduling --------------------------------------------------------------------------------

    def _push(self, due_ms: int, kind: str, order_id: str = "") -> None:
        self._sequence += 1
        heapq.heappush(self._queue, (due_ms, self._sequence, kind, order_id))

    def _schedule_arrival(self, kind: str, after_ms: int) -> None:
        per_ms = self.config.rate * EVENT_SHARES[kind] / HOUR_MS
        gap = max(1, round(self._arrivals[kind].expovariate(per_ms)))
        self._push(after_ms + gap, kind)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every non-empty batch of changes (under :attr:`lock`)."""
        with self.lock:
            self._listeners.append(listener)

    @property
    def now(self) -> datetime:
        """The simulated time the data is at."""
        return us_to_datetime(self.now_us)

    def advance_to(self, moment: datetime) -> LiveChanges:
        """Apply every change due at or before ``moment`` (in time order); returns what changed.
        A moment at or before :attr:`now` changes nothing."""
        target_us = datetime_to_us(moment)
        changes = LiveChanges()
        with self.lock:
            if target_us <= self.now_us:
                return changes
            while self._queue and self._queue[0][0] * 1000 <= target_us:
                due_ms, _, kind, order_id = heapq.heappop(self._queue)
                if kind in EVENT_SHARES:
                    self._schedule_arrival(kind, due_ms)
                if self._apply(kind, due_ms, order_id, changes):
                    self.applied[kind] += 1
            self.now_us = target_us
            if changes:
                for listener in self._listeners:
                    listener(changes)
        return changes

    def stats(self) -> dict[str, Any]:
        """The simulated now and the number of changes applied, per kind."""
        with self.lock:
            return {
                "simulated_now": format_ms(self.now_us // 1000),
                "rate_orders_per_hour": self.config.rate,
                "speed": self.config.speed,
                "changes_applied": dict(self.applied),
                "total_changes": sum(self.applied.values()),
            }

    # -- changes -------------------------------------------------------------------------------------

    def _apply(self, kind: str, at_ms: int, order_id: str, changes: LiveChanges) -> bool:
        if kind == "order":
            return self._new_order(at_ms, changes)
        if kind == "order_complete":
            return self._complete(order_id, at_ms, changes)
        if kind == "return":
            return self._return(at_ms, changes)
        if kind == "price_edit":
            return self._price_edit(at_ms, changes)
        if kind == "item_delete":
            return self._delete_item(at_ms, changes)
        if kind == "customer_update":
            return self._customer_update(at_ms, changes)
        raise AssertionError(kind)

    def _rebuild_makers(self) -> None:
        self._synthesizer = OrderSynthesizer(self._sales_rng, self._ids, self._catalog, self._money)
        self._returns = ReturnMaker(
            self._returns_rng,
            self._ids,
            self._money,
            self._catalog,
            TenderMaker(self._returns_rng, self._ids, self._money),
        )

    def _order(self, order_id: str) -> JSONObject | None:
        """The order with ``order_id`` as stored now (a fresh dict: store it again after changing it)."""
        return self.data.orders.get(order_id)

    @staticmethod
    def _returnable(order: JSONObject) -> bool:
        return (
            order.get("state") == "COMPLETED"
            and "returns" not in order
            and any(line["item_type"] == "ITEM" for line in order.get("line_items", ()))
        )

    def _record_order(self, order: JSONObject, changes: LiveChanges) -> None:
        self.data.orders.put(order)
        changes.orders[order["id"]] = order
        if self._returnable(order):
            insort(self._sales, (parse_rfc3339_us(order["closed_at"]) // 1000, order["id"]))

    def _record_payments(self, order: JSONObject, at_ms: int, changes: LiveChanges) -> None:
        entries = self._ledger.record(order, end_ms=at_ms + 1)  # it stores them in data.payments/refunds
        changes.payments.update(entries.payments)
        for refund in entries.refunds:
            changes.refunds[refund["id"]] = refund

    def _attribute(self, order: JSONObject, at_ms: int) -> None:
        rng = self._rng
        online = order["source"]["name"] != "Square Point of Sale"
        if not self._customers or rng.random() >= (ONLINE_CUSTOMER_SHARE if online else COUNTER_CUSTOMER_SHARE):
            return
        eligible = bisect_left(self._customer_created, at_ms + 1)
        if eligible == 0:
            return
        customer_id = self._customers[rng.randrange(eligible)]["id"]
        order["customer_id"] = customer_id
        for tender in order.get("tenders", ()):
            tender["customer_id"] = customer_id

    def _new_order(self, at_ms: int, changes: LiveChanges) -> bool:
        rng = self._sales_rng
        location = rng.choices(self._locations, weights=self._traffic)[0]
        hour = datetime.fromtimestamp(at_ms / 1000, tz=ZoneInfo(location["timezone"])).hour
        draw = rng.random()
        if draw < OPEN_SHARE:
            state, version = "OPEN", rng.choice((1, 2))
            created_ms = at_ms - rng.randrange(5, 600) * 1000
            closed_ms = at_ms
        elif draw < OPEN_SHARE + CANCELED_SHARE:
            state, version = "CANCELED", rng.choice((2, 3))
            created_ms = at_ms - rng.randrange(60, 30 * 60) * 1000
            closed_ms = at_ms
        else:
            state, version = "COMPLETED", rng.choice((3, 4))
            closed_ms = at_ms - rng.randrange(200, 4000)
            created_ms = closed_ms - rng.randrange(30, 12 * 60) * 1000
        order = self._synthesizer.sale(location, hour, created_ms, closed_ms, at_ms, state, version)
        if state == "COMPLETED":
            self._attribute(order, at_ms)
        self._record_order(order, changes)
        if state == "COMPLETED":
            self._record_payments(order, at_ms, changes)
        elif state == "OPEN":
            self._push(at_ms + rng.randint(*OPEN_MINUTES) * 60_000, "order_complete", order["id"])
        return True

    def _complete(self, order_id: str, at_ms: int, changes: LiveChanges) -> bool:
        order = self._order(order_id)
        if order is None or order["state"] != "OPEN":
            return False
        rng = self._sales_rng
        currency = order["total_money"]["currency"]
        due = order["total_money"]["amount"]
        closed_ms = max(parse_rfc3339_us(order["updated_at"]) // 1000 + 1, at_ms - rng.randrange(200, 4000))
        closed_at = format_ms(closed_ms)
        tenders, tip = self._tenders.pay(
            order_id=order_id,
            location_id=order["location_id"],
            currency=currency,
            due=due,
            online=order["source"]["name"] != "Square Point of Sale",
            created_at=closed_at,
        )
        money = self._money
        total = due + tip
        tax, discount = order["total_tax_money"]["amount"], order["total_discount_money"]["amount"]
        order["tenders"] = tenders
        order["net_amounts"] = money_amounts(money, currency, total, tax, discount, tip)
        order["updated_at"] = format_ms(at_ms)
        order["state"] = "COMPLETED"
        order["version"] += 1
        order["total_money"] = money(total, currency)
        order["total_tip_money"] = money(tip, currency)
        order["closed_at"] = closed_at
        order["net_amount_due_money"] = money(0, currency)
        self._attribute(order, at_ms)
        self._record_order(order, changes)
        self._record_payments(order, at_ms, changes)
        return True

    def _return(self, at_ms: int, changes: LiveChanges) -> bool:
        rng = self._returns_rng
        low = bisect_left(self._sales, (at_ms - RETURN_AGE_MS[1],))
        high = bisect_left(self._sales, (at_ms - RETURN_AGE_MS[0],))
        if high <= low:
            return False
        live_variations = {variation.id for variation in self._catalog.variations}
        for _ in range(10):
            sale = self._order(self._sales[rng.randrange(low, high)][1])
            assert sale is not None
            if at_ms - self._last_return_ms.get(sale["id"], 0) < RETURN_GAP_MS:
                continue
            lines = [
                line
                for line in sale["line_items"]
                if line["item_type"] == "ITEM"
                and int(line["quantity"]) > self._returned.get((sale["id"], line["uid"]), 0)
            ]
            if lines:
                break
        else:
            return False
        chosen = lines if rng.random() < WHOLE_SALE_SHARE else [rng.choice(lines)]
        picks = []
        for line in chosen:
            left = int(line["quantity"]) - self._returned.get((sale["id"], line["uid"]), 0)
            partial = left > 1 and rng.random() < PARTIAL_SHARE
            picks.append((line, rng.randint(1, left - 1) if partial else left))
        exchange = rng.random() < EXCHANGE_SHARE and picks[0][0]["catalog_object_id"] in live_variations
        closed_ms = at_ms - rng.randrange(200, 4000)
        created_ms = closed_ms - rng.randrange(30, 5 * 60) * 1000
        order = self._returns.build(sale, picks, created_ms, closed_ms, at_ms, self._returned, exchange)
        if order is None:
            return False
        self._last_return_ms[sale["id"]] = closed_ms
        customer_id = sale.get("customer_id")
        if customer_id is not None:
            order["customer_id"] = customer_id
            for tender in order.get("tenders", ()):
                tender["customer_id"] = customer_id
        self._record_order(order, changes)
        self._record_payments(order, at_ms, changes)
        return True

    def _touch(self, obj: JSONObject, at_ms: int, changes: LiveChanges) -> None:
        obj["updated_at"] = format_ms(at_ms)
        obj["version"] = max(obj["version"] + 1, at_ms)  # Square's catalog versions are ms timestamps
        changes.catalog_objects[obj["id"]] = obj

    def _price_edit(self, at_ms: int, changes: LiveChanges) -> bool:
        variations = self._catalog.variations
        if not variations:
            return False
        rng = self._rng
        index = rng.randrange(len(variations))
        variation = variations[index]
        factor = rng.choice(PRICE_FACTORS)

        def moved(amount: int, currency: str) -> int:
            step = CURRENCY_RATES[currency][1]
            return max(step, round(amount * factor / 100 / step) * step)

        prices = {
            location: (moved(amount, currency), currency) for location, (amount, currency) in variation.prices.items()
        }
        obj = self._catalog_by_id[variation.id]
        data = dict(obj["item_variation_data"])
        home = data["price_money"]
        data["price_money"] = {"amount": moved(home["amount"], home["currency"]), "currency": home["currency"]}
        if "location_overrides" in data:
            data["location_overrides"] = [
                {
                    "location_id": override["location_id"],
                    "price_money": {
                        "amount": prices[override["location_id"]][0],
                        "currency": prices[override["location_id"]][1],
                    },
                }
                for override in data["location_overrides"]
            ]
        obj["item_variation_data"] = data
        self._touch(obj, at_ms, changes)
        self._touch(self._catalog_by_id[variation.item_id], at_ms, changes)
        updated = replace(variation, version=obj["version"], prices=prices)
        self._set_variations([*variations[:index], updated, *variations[index + 1 :]])
        return True

    def _set_variations(self, variations: list[Variation]) -> None:
        self._catalog = replace(self._catalog, variations=variations)
        self._rebuild_makers()

    def _delete_item(self, at_ms: int, changes: LiveChanges) -> bool:
        items = sorted({variation.item_id for variation in self._catalog.variations})
        if len(items) <= MIN_LIVE_ITEMS_SHARE * self._initial_items:
            return False
        item = self._catalog_by_id[self._rng.choice(items)]
        item["is_deleted"] = True
        self._touch(item, at_ms, changes)
        for variation in item["item_data"]["variations"]:
            variation["is_deleted"] = True
            self._touch(self._catalog_by_id[variation["id"]], at_ms, changes)
        self._set_variations([v for v in self._catalog.variations if v.item_id != item["id"]])
        return True

    def _customer_update(self, at_ms: int, changes: LiveChanges) -> bool:
        eligible = bisect_left(self._customer_created, at_ms)
        if eligible == 0:
            return False
        rng = self._rng
        customer = self._customers[rng.randrange(eligible)]
        if rng.random() < 0.5:
            customer["phone_number"] = f"+1-555-01{rng.randrange(100):02d}"
        else:
            unsubscribed = bool((customer.get("preferences") or {}).get("email_unsubscribed"))
            customer["preferences"] = {"email_unsubscribed": not unsubscribed}
        customer["updated_at"] = format_ms(at_ms)
        customer["version"] = customer["version"] + 1
        changes.customers[customer["id"]] = customer
        return True
