"""Completed point-of-sale orders with realistic daily and hourly rhythms.

Shapes copied from Square's ``Order``:

* every ``Money`` is ``{"amount": <int, smallest unit>, "currency": <the location's currency>}``;
* ``quantity`` is a decimal *string* (``"2"``), never a number;
* a line item's ``variation_total_price_money`` = ``base_price_money`` x quantity, and
  ``gross_sales_money`` equals it (no modifiers yet); ``total_money`` = gross - discounts + tax
  (both zero in this first cut);
* the order's ``total_money`` is the sum of its line items' ``total_money`` (plus tips and
  service charges, zero here) and ``net_amounts`` repeats the totals (no returns yet);
* ``created_at`` < ``closed_at`` <= ``updated_at``, RFC 3339 UTC, mostly with milliseconds and
  sometimes without, as Square does. A few orders are touched again hours or days after they
  closed (``updated_at`` much later, ``version`` one higher) so sorting by ``UPDATED_AT``
  differs from sorting by ``CREATED_AT``.

Traffic follows the location's *local* wall clock: busier on Fridays and Saturdays, morning and
lunch peaks inside the shop's opening hours, pastries in the morning, sandwiches at lunch.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .catalog import Variation
from .ids import IdFactory
from .locations import LocationTemplate
from .timefmt import format_ms

JSONObject = dict[str, Any]

DAY_MS = 86_400_000

# Monday .. Sunday; the mean is 1.0 so orders_per_day stays the average.
WEEKDAY_FACTORS = (0.90, 0.92, 0.95, 1.00, 1.10, 1.20, 0.93)

# Relative traffic by local hour of day (only hours inside the opening hours are used).
WEEKDAY_HOURS = {
    5: 0.3, 6: 0.7, 7: 1.5, 8: 1.9, 9: 1.5, 10: 1.1, 11: 1.0, 12: 1.4, 13: 1.2,
    14: 0.8, 15: 0.75, 16: 0.7, 17: 0.55, 18: 0.4, 19: 0.3, 20: 0.2, 21: 0.15,
}  # fmt: skip
WEEKEND_HOURS = {
    5: 0.2, 6: 0.4, 7: 0.7, 8: 1.0, 9: 1.4, 10: 1.7, 11: 1.6, 12: 1.4, 13: 1.2,
    14: 0.9, 15: 0.8, 16: 0.7, 17: 0.5, 18: 0.4, 19: 0.3, 20: 0.2, 21: 0.15,
}  # fmt: skip

# Category appeal by daypart: morning (< 11:00), lunch (11:00-14:00), afternoon.
DAYPART_CATEGORY_FACTORS = (
    {"Coffee": 1.0, "Tea": 0.5, "Bakery": 1.0, "Breakfast": 0.8, "Lunch": 0.05, "Retail": 0.05},
    {"Coffee": 0.6, "Tea": 0.4, "Bakery": 0.35, "Breakfast": 0.2, "Lunch": 1.2, "Retail": 0.05},
    {"Coffee": 0.8, "Tea": 0.7, "Bakery": 0.7, "Breakfast": 0.05, "Lunch": 0.3, "Retail": 0.1},
)

BASKET_SIZES = (1, 2, 3, 4, 5)
BASKET_WEIGHTS = (45, 30, 14, 7, 4)
QUANTITIES = (1, 2, 3)
QUANTITY_WEIGHTS = (85, 12, 3)

SOURCES = ("Square Point of Sale", "Square Online")
SOURCE_WEIGHTS = (88, 12)

LATE_UPDATE_SHARE = 0.07  # orders touched again after closing
WHOLE_SECOND_SHARE = 0.2  # orders whose timestamps carry no fractional seconds


@dataclass(frozen=True)
class OrderWindow:
    """Orders are created in ``[start_ms, end_ms)``; every timestamp stays before ``end_ms``."""

    start_ms: int
    end_ms: int
    orders_per_day: float  # expected orders per day across all locations


class _MoneyPool:
    """Shares identical ``Money`` dicts: tens of thousands of orders repeat a few hundred values."""

    def __init__(self) -> None:
        self._pool: dict[tuple[int, str], JSONObject] = {}

    def __call__(self, amount: int, currency: str) -> JSONObject:
        key = (amount, currency)
        money = self._pool.get(key)
        if money is None:
            money = self._pool[key] = {"amount": amount, "currency": currency}
        return money


def _local_dates(start_ms: int, end_ms: int, zone: ZoneInfo) -> Iterator[date]:
    first = datetime.fromtimestamp(start_ms / 1000, tz=zone).date()
    last = datetime.fromtimestamp((end_ms - 1) / 1000, tz=zone).date()
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class OrderSynthesizer:
    """Generates every location's orders from one seeded random stream."""

    def __init__(self, rng: random.Random, ids: IdFactory, variations: list[Variation]) -> None:
        self._rng = rng
        self._ids = ids
        self._money = _MoneyPool()
        self._variations = variations
        self._daypart_cum_weights = []
        for factors in DAYPART_CATEGORY_FACTORS:
            weights = [v.popularity * factors.get(v.category, 0.1) for v in variations]
            self._daypart_cum_weights.append(list(itertools.accumulate(weights)))

    def generate(self, shops: list[tuple[LocationTemplate, JSONObject]], window: OrderWindow) -> list[JSONObject]:
        """All orders of all ``shops`` in ``window``, sorted by ``created_at`` then id."""
        total_traffic = sum(template.traffic for template, _ in shops)
        dated: list[tuple[int, str, JSONObject]] = []
        for template, location in shops:
            share = window.orders_per_day * template.traffic / total_traffic
            for created_ms, order in self._location_orders(template, location, share, window):
                dated.append((created_ms, order["id"], order))
        dated.sort(key=lambda entry: (entry[0], entry[1]))
        return [order for _, _, order in dated]

    def _location_orders(
        self, template: LocationTemplate, location: JSONObject, per_day: float, window: OrderWindow
    ) -> Iterator[tuple[int, JSONObject]]:
        rng = self._rng
        zone = ZoneInfo(template.timezone)
        window_days = max(1.0, (window.end_ms - window.start_ms) / DAY_MS)
        for day in _local_dates(window.start_ms, window.end_ms, zone):
            weekday = day.weekday()
            opens, closes = template.hours_for(weekday)
            hours = list(range(opens, closes))
            table = WEEKEND_HOURS if weekday >= 5 else WEEKDAY_HOURS
            hour_weights = list(itertools.accumulate(table.get(hour, 0.1) for hour in hours))
            midnight_ms = int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)
            progress = min(1.0, max(0.0, (midnight_ms - window.start_ms) / DAY_MS / window_days))
            trend = 0.92 + 0.16 * progress  # the business grows a little over the window
            expected = per_day * WEEKDAY_FACTORS[weekday] * trend * rng.uniform(0.85, 1.15)
            count = int(expected + rng.random())  # unbiased rounding
            for _ in range(count):
                hour = rng.choices(hours, cum_weights=hour_weights)[0]
                last_hour = hour == closes - 1
                minute = rng.randrange(45 if last_hour else 60)
                second = rng.randrange(60)
                local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
                whole_seconds = rng.random() < WHOLE_SECOND_SHARE
                created_ms = int(local.timestamp()) * 1000 + (0 if whole_seconds else rng.randrange(1000))
                order = self._order(location, hour, created_ms, whole_seconds, window)
                if order is not None:
                    yield created_ms, order

    def _order(
        self, location: JSONObject, hour: int, created_ms: int, whole_seconds: bool, window: OrderWindow
    ) -> JSONObject | None:
        rng = self._rng
        if not window.start_ms <= created_ms < window.end_ms:
            return None
        closed_ms = created_ms + rng.randrange(30, 12 * 60) * 1000
        version = rng.choice((3, 4))
        if rng.random() < LATE_UPDATE_SHARE:
            updated_ms = closed_ms + rng.randrange(3600, 72 * 3600) * 1000
            version += 1
        else:
            updated_ms = closed_ms + rng.randrange(200, 4000)
        if whole_seconds:
            closed_ms -= closed_ms % 1000
            updated_ms -= updated_ms % 1000
            updated_ms = max(updated_ms, closed_ms)
        if updated_ms >= window.end_ms:
            updated_ms = closed_ms
        if closed_ms >= window.end_ms:
            return None

        location_id = location["id"]
        currency = location["currency"]
        money = self._money
        daypart = 0 if hour < 11 else 1 if hour < 14 else 2
        basket_size = rng.choices(BASKET_SIZES, weights=BASKET_WEIGHTS)[0]
        picks = rng.choices(self._variations, cum_weights=self._daypart_cum_weights[daypart], k=basket_size)
        quantities: dict[str, int] = {}
        chosen: dict[str, Variation] = {}
        for variation in picks:
            quantity = rng.choices(QUANTITIES, weights=QUANTITY_WEIGHTS)[0]
            quantities[variation.id] = quantities.get(variation.id, 0) + quantity
            chosen[variation.id] = variation

        line_items = []
        order_total = 0
        zero = money(0, currency)
        for variation_id, quantity in quantities.items():
            variation = chosen[variation_id]
            unit_price, _ = variation.prices[location_id]  # priced in the location's currency
            line_total = unit_price * quantity
            order_total += line_total
            line_total_money = money(line_total, currency)
            line_items.append(
                {
                    "uid": self._ids.line_item_uid(),
                    "name": variation.item_name,
                    "quantity": str(quantity),
                    "catalog_object_id": variation.id,
                    "catalog_version": variation.version,
                    "variation_name": variation.name,
                    "item_type": "ITEM",
                    "base_price_money": money(unit_price, currency),
                    "variation_total_price_money": line_total_money,
                    "gross_sales_money": line_total_money,
                    "total_tax_money": zero,
                    "total_discount_money": zero,
                    "total_money": line_total_money,
                    "total_service_charge_money": zero,
                }
            )

        total = money(order_total, currency)
        fraction = not whole_seconds
        return {
            "id": self._ids.order(),
            "location_id": location_id,
            "source": {"name": rng.choices(SOURCES, weights=SOURCE_WEIGHTS)[0]},
            "line_items": line_items,
            "net_amounts": {
                "total_money": total,
                "tax_money": zero,
                "discount_money": zero,
                "tip_money": zero,
                "service_charge_money": zero,
            },
            "created_at": format_ms(created_ms, fraction=fraction),
            "updated_at": format_ms(updated_ms, fraction=fraction),
            "state": "COMPLETED",
            "version": version,
            "total_money": total,
            "total_tax_money": zero,
            "total_discount_money": zero,
            "total_tip_money": zero,
            "total_service_charge_money": zero,
            "closed_at": format_ms(closed_ms, fraction=fraction),
            "net_amount_due_money": zero,
        }
