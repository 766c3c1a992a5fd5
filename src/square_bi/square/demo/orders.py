"""Point-of-sale orders with realistic daily and hourly rhythms and Square's exact arithmetic.

Shapes copied from Square's ``Order``:

* every ``Money`` is ``{"amount": <int, smallest unit>, "currency": <the location's currency>}``;
* ``quantity`` is a decimal *string* (``"2"``), never a number;
* ``created_at`` < ``closed_at`` <= ``updated_at``, RFC 3339 UTC, mostly with milliseconds and
  sometimes without, as Square does. A few orders are touched again hours or days after they
  closed (``updated_at`` much later, ``version`` one higher) so sorting by ``UPDATED_AT``
  differs from sorting by ``CREATED_AT``.

Line items (``item_type``): catalog ``ITEM`` lines, about 2 % of orders add a ``CUSTOM_AMOUNT``
line (no ``catalog_object_id``, taxed) and about 1 % sell a ``GIFT_CARD`` (never taxed or
discounted; a few orders sell only a gift card). Espresso drinks and tea lattes carry
``modifiers`` (oat milk, extra shot, ...) about a third of the time.

Arithmetic per line (all integers, rounding and allocation rules in ``pricing``):

* ``variation_total_price_money`` = ``base_price_money`` x quantity;
* a modifier's ``total_price_money`` = its ``base_price_money`` x its quantity (always 1) x
  the line's quantity;
* ``gross_sales_money`` = variation total + the modifiers' totals;
* ``total_discount_money`` = the sum of the line's ``applied_discounts`` (at most one);
* ``total_tax_money`` = the line's ``applied_taxes`` (the location's one tax, on the discounted
  amount ``gross - discount``; additive: ``rate x amount``; inclusive: ``amount x rate / (1 +
  rate)``, already inside the price);
* ``total_money`` = gross - discount + additive tax (an inclusive tax is already inside gross).

Choice for tax-inclusive locations (London's 20 % VAT): ``gross_sales_money`` keeps the
inclusive tax inside, as Square's EU and AU Sales Summary does (in the US, CA and JP Square takes
it out); ``total_tax_money`` still reports the VAT contained in the line.

Discounts: about 7 % of orders get "10% Off" (``scope: ORDER``, computed once on the eligible
subtotal and allocated over the lines), about 3 % a fixed "Loyalty Reward" (``scope: ORDER``,
allocated the same way, only when the subtotal is at least twice the reward) and about a third of
afternoon orders with a pastry get "Day-Old Pastry" 50 % on that line (``scope: LINE_ITEM``).
Every line a discount or tax touches references the order's ``discounts[]`` / ``taxes[]`` entry
by uid, and each entry's ``applied_money`` is the sum of its lines' shares.

Order totals: ``total_tax_money`` and ``total_discount_money`` are the sums over the lines,
``total_tip_money`` the sum of the tenders' tips, ``total_money`` = the lines' ``total_money``
+ tips (+ service charges, none here); ``net_amounts`` repeats them (sale orders have no
returns; return orders are built in ``returns``). Tenders (see ``tenders``) sum to
``total_money`` on every completed order.

States: orders are ``COMPLETED`` (``closed_at`` set, tenders); about 3 % are ``CANCELED`` (no
tenders; ``closed_at`` = ``updated_at``, minutes after ``created_at``: Square's ``closed_at`` is when
an order reached a terminal state); about 10 % of the
orders created in the last day before the anchor are still ``OPEN`` (no ``closed_at``, no
tenders). ``net_amount_due_money`` is ``total_money`` minus the tenders (zero when paid).

Traffic follows the location's *local* wall clock: busier on Fridays and Saturdays, morning and
lunch peaks inside the shop's opening hours, pastries in the morning, sandwiches at lunch.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from .catalog import Catalog, Discount, Modifier, Tax, Variation, convert_price
from .draws import below, pick
from .ids import IdFactory
from .locations import LocationTemplate
from .pricing import allocate, inclusive_tax, percent_of
from .tenders import TenderMaker
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

# Cumulative weights for ``draws.pick`` (the same draw as ``rng.choices(..., cum_weights=...)[0]``).
BASKET_CUM_WEIGHTS = tuple(itertools.accumulate(BASKET_WEIGHTS))
QUANTITY_CUM_WEIGHTS = tuple(itertools.accumulate(QUANTITY_WEIGHTS))
SOURCE_CUM_WEIGHTS = tuple(itertools.accumulate(SOURCE_WEIGHTS))

LATE_UPDATE_SHARE = 0.07  # orders touched again after closing
WHOLE_SECOND_SHARE = 0.2  # orders whose timestamps carry no fractional seconds

CANCELED_SHARE = 0.03
OPEN_SHARE_LAST_DAY = 0.10  # of the orders created in the last day before the anchor
CUSTOM_AMOUNT_SHARE = 0.02
GIFT_CARD_SHARE = 0.01  # orders with a gift card line...
GIFT_CARD_ONLY_SHARE = 0.004  # ...of which these sell nothing else
ORDER_PERCENT_SHARE = 0.07
LOYALTY_SHARE = 0.03
DAY_OLD_SHARE = 0.33  # of afternoon orders with a pastry
MILK_SHARE = 0.35  # of lines offering the Milk list
MILK_WEIGHTS = (20, 50, 30)  # whole, oat, almond
EXTRA_SHOT_SHARE = 0.15
SYRUP_SHARE = 0.08
GIFT_CARD_US_CENTS = (2500, 5000, 10000)
MAX_LINES = 5


class LineSpec(NamedTuple):
    """What is sold on one line, before any arithmetic (a named tuple: built for every line of
    every sale, and a tuple is several times cheaper to build than a frozen dataclass)."""

    item_type: str  # ITEM, CUSTOM_AMOUNT or GIFT_CARD
    name: str
    base: int
    quantity: int
    variation: Variation | None = None
    modifiers: tuple[Modifier, ...] = ()
    category: str | None = None

    @property
    def taxable(self) -> bool:
        return self.item_type != "GIFT_CARD"


@dataclass(frozen=True)
class PricedLines:
    """Line items with their arithmetic done, the order-level taxes/discounts and the sums."""

    line_items: list[JSONObject]
    taxes: list[JSONObject]
    discounts: list[JSONObject]
    total: int
    tax: int
    discount: int


@dataclass(frozen=True)
class OrderWindow:
    """Orders are created in ``[start_ms, end_ms)``; every timestamp stays before ``end_ms``."""

    start_ms: int
    end_ms: int
    orders_per_day: float  # expected orders per day across all locations


MoneyFactory = Callable[[int, str], JSONObject]


def money_pool() -> MoneyFactory:
    """``money(amount, currency)`` -> a Square ``Money`` dict, the same dict for the same values:
    hundreds of thousands of orders repeat a few thousand values (an ``lru_cache``, so a repeated
    value costs a C-level lookup, not a Python call)."""

    @functools.cache
    def money(amount: int, currency: str) -> JSONObject:
        return {"amount": amount, "currency": currency}

    return money


def _local_dates(start_ms: int, end_ms: int, zone: ZoneInfo) -> Iterator[date]:
    first = datetime.fromtimestamp(start_ms / 1000, tz=zone).date()
    last = datetime.fromtimestamp((end_ms - 1) / 1000, tz=zone).date()
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class LinePricer:
    """Does a sale's arithmetic: turns line specs into Square line items, taxes and discounts."""

    def __init__(self, ids: IdFactory, money: Callable[[int, str], JSONObject]) -> None:
        self._ids = ids
        self._money = money

    def price(
        self,
        specs: list[LineSpec],
        *,
        location_id: str,
        currency: str,
        tax: Tax,
        discount: Discount | None = None,
        discounted_line: int | None = None,
    ) -> PricedLines:
        """Price ``specs`` at ``location_id``; ``discount`` applies to the whole order (``scope``
        ORDER) or, for LINE_ITEM scope, to ``specs[discounted_line]`` only."""
        money = self._money
        uid = self._ids.uid
        grosses: list[int] = []
        modifier_json: list[list[JSONObject]] = []
        for spec in specs:
            gross = spec.base * spec.quantity
            rendered = []
            for modifier in spec.modifiers:
                unit = modifier.prices[location_id]
                gross += unit * spec.quantity
                rendered.append(
                    {
                        "uid": uid(),
                        "catalog_object_id": modifier.id,
                        "catalog_version": modifier.version,
                        "name": modifier.name,
                        "quantity": "1",
                        "base_price_money": money(unit, currency),
                        "total_price_money": money(unit * spec.quantity, currency),
                    }
                )
            grosses.append(gross)
            modifier_json.append(rendered)

        shares = [0] * len(specs)
        discount_uid = None
        if discount is not None:
            if discount.scope == "LINE_ITEM":
                assert discounted_line is not None
                shares[discounted_line] = percent_of(grosses[discounted_line], discount.milli)
            else:
                eligible = [index for index, spec in enumerate(specs) if spec.taxable]
                subtotal = sum(grosses[index] for index in eligible)
                if discount.discount_type == "FIXED_PERCENTAGE":
                    amount = percent_of(subtotal, discount.milli)
                else:
                    amount = min(discount.amount, subtotal)
                for index, part in zip(eligible, allocate(amount, [grosses[i] for i in eligible]), strict=True):
                    shares[index] = part
            discount_uid = uid()

        additive = tax.inclusion_type == "ADDITIVE"
        tax_uid = uid()
        line_items: list[JSONObject] = []
        total = tax_sum = discount_sum = 0
        taxed_lines = 0
        for spec, gross, share, modifiers in zip(specs, grosses, shares, modifier_json, strict=True):
            line_tax = 0
            line: JSONObject = {"uid": uid(), "name": spec.name, "quantity": str(spec.quantity)}
            if spec.variation is not None:
                line["catalog_object_id"] = spec.variation.id
                line["catalog_version"] = spec.variation.version
                line["variation_name"] = spec.variation.name
            line["item_type"] = spec.item_type
            if modifiers:
                line["modifiers"] = modifiers
            if spec.taxable:
                taxable = gross - share
                line_tax = percent_of(taxable, tax.milli) if additive else inclusive_tax(taxable, tax.milli)
                line["applied_taxes"] = [{"uid": uid(), "tax_uid": tax_uid, "applied_money": money(line_tax, currency)}]
                taxed_lines += 1
            if share:
                line["applied_discounts"] = [
                    {"uid": uid(), "discount_uid": discount_uid, "applied_money": money(share, currency)}
                ]
            line_total = gross - share + (line_tax if additive else 0)
            line["base_price_money"] = money(spec.base, currency)
            line["variation_total_price_money"] = money(spec.base * spec.quantity, currency)
            line["gross_sales_money"] = money(gross, currency)
            line["total_tax_money"] = money(line_tax, currency)
            line["total_discount_money"] = money(share, currency)
            line["total_money"] = money(line_total, currency)
            line["total_service_charge_money"] = money(0, currency)
            line_items.append(line)
            total += line_total
            tax_sum += line_tax
            discount_sum += share

        taxes = []
        if taxed_lines:
            taxes.append(
                {
                    "uid": tax_uid,
                    "catalog_object_id": tax.id,
                    "catalog_version": tax.version,
                    "name": tax.name,
                    "type": tax.inclusion_type,
                    "percentage": tax.percentage,
                    "applied_money": money(tax_sum, currency),
                    "scope": "LINE_ITEM",
                    "auto_applied": True,
                }
            )
        discounts = []
        if discount is not None and discount_uid is not None:
            entry: JSONObject = {
                "uid": discount_uid,
                "catalog_object_id": discount.id,
                "catalog_version": discount.version,
                "name": discount.name,
                "type": discount.discount_type,
            }
            if discount.discount_type == "FIXED_PERCENTAGE":
                entry["percentage"] = discount.percentage
            else:
                entry["amount_money"] = money(discount.amount, currency)
            entry["applied_money"] = money(discount_sum, currency)
            entry["scope"] = discount.scope
            discounts.append(entry)
        return PricedLines(line_items, taxes, discounts, total, tax_sum, discount_sum)


def money_amounts(
    money: Callable[[int, str], JSONObject], currency: str, total: int, tax: int, discount: int, tip: int
) -> JSONObject:
    """Square ``OrderMoneyAmounts`` (no service charges in the demo)."""
    return {
        "total_money": money(total, currency),
        "tax_money": money(tax, currency),
        "discount_money": money(discount, currency),
        "tip_money": money(tip, currency),
        "service_charge_money": money(0, currency),
    }


class OrderSynthesizer:
    """Generates every location's orders from one seeded random stream."""

    def __init__(self, rng: random.Random, ids: IdFactory, catalog: Catalog, money: MoneyFactory | None = None) -> None:
        self._rng = rng
        self._ids = ids
        self._money = money or money_pool()
        self._catalog = catalog
        self._pricer = LinePricer(ids, self._money)
        self._tenders = TenderMaker(rng, ids, self._money)
        variations = catalog.variations
        self._variations = variations
        self._daypart_cum_weights = []
        for factors in DAYPART_CATEGORY_FACTORS:
            weights = [v.popularity * factors.get(v.category, 0.1) for v in variations]
            self._daypart_cum_weights.append(list(itertools.accumulate(weights)))

    def generate(self, shops: list[tuple[LocationTemplate, JSONObject]], window: OrderWindow) -> list[JSONObject]:
        """All orders of all ``shops`` in ``window``, sorted by ``created_at`` then id."""
        dated = [(created_ms, order["id"], order) for created_ms, order in self.stream(shops, window)]
        dated.sort(key=lambda entry: (entry[0], entry[1]))
        return [order for _, _, order in dated]

    def stream(
        self, shops: list[tuple[LocationTemplate, JSONObject]], window: OrderWindow
    ) -> Iterator[tuple[int, JSONObject]]:
        """Every order of every shop in ``window`` with its ``created_at`` in epoch ms, one shop
        after the other, one local day after the other (not sorted within a day): the generator
        stores each order as it comes instead of holding them all."""
        total_traffic = sum(template.traffic for template, _ in shops)
        for template, location in shops:
            share = window.orders_per_day * template.traffic / total_traffic
            yield from self._location_orders(template, location, share, window)

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
            hour_starts: dict[int, int] = {}  # local hour -> its first second, epoch seconds
            for _ in range(count):
                hour = pick(rng, hours, hour_weights)
                last_hour = hour == closes - 1
                minute = below(rng, 45 if last_hour else 60)
                second = below(rng, 60)
                hour_start = hour_starts.get(hour)
                if hour_start is None:  # opening hours never straddle a DST change: offsets are whole hours
                    local = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
                    hour_start = hour_starts[hour] = int(local.timestamp())
                whole_seconds = rng.random() < WHOLE_SECOND_SHARE
                local_s = hour_start + minute * 60 + second
                created_ms = local_s * 1000 + (0 if whole_seconds else below(rng, 1000))
                order = self._order(location, hour, created_ms, whole_seconds, window)
                if order is not None:
                    yield created_ms, order

    def _order(
        self, location: JSONObject, hour: int, created_ms: int, whole_seconds: bool, window: OrderWindow
    ) -> JSONObject | None:
        rng = self._rng
        if not window.start_ms <= created_ms < window.end_ms:
            return None
        closed_ms = created_ms + (30 + below(rng, 12 * 60 - 30)) * 1000
        version = rng.choice((3, 4))
        if rng.random() < LATE_UPDATE_SHARE:
            updated_ms = closed_ms + rng.randrange(3600, 72 * 3600) * 1000
            version += 1
        else:
            updated_ms = closed_ms + 200 + below(rng, 4000 - 200)
        if whole_seconds:
            closed_ms -= closed_ms % 1000
            updated_ms -= updated_ms % 1000
            updated_ms = max(updated_ms, closed_ms)
        if updated_ms >= window.end_ms:
            updated_ms = closed_ms

        state = "COMPLETED"
        if created_ms >= window.end_ms - DAY_MS and rng.random() < OPEN_SHARE_LAST_DAY:
            state = "OPEN"
            version = rng.choice((1, 2))
            updated_ms = created_ms + rng.randrange(5, 10 * 60) * 1000
        elif rng.random() < CANCELED_SHARE:
            state = "CANCELED"
            version = rng.choice((2, 3))
            updated_ms = created_ms + rng.randrange(60, 30 * 60) * 1000
        if state != "COMPLETED":
            if whole_seconds:
                updated_ms -= updated_ms % 1000
            if updated_ms >= window.end_ms:
                return None
            if state == "CANCELED":
                closed_ms = updated_ms  # canceling is reaching a terminal state: Square sets closed_at
        elif closed_ms >= window.end_ms:
            return None
        return self.sale(location, hour, created_ms, closed_ms, updated_ms, state, version, whole_seconds)

    def sale(
        self,
        location: JSONObject,
        hour: int,
        created_ms: int,
        closed_ms: int,
        updated_ms: int,
        state: str,
        version: int,
        whole_seconds: bool = False,
    ) -> JSONObject:
        """One sale at ``location`` with its timestamps and state already decided (``hour`` is the
        local hour, which picks the daypart); draws the basket, discount, source and tenders."""
        rng = self._rng
        location_id = location["id"]
        currency = location["currency"]
        daypart = 0 if hour < 11 else 1 if hour < 14 else 2
        specs = self._basket(location_id, currency, daypart)
        discount, discounted_line = self._discount(specs, currency, daypart)
        priced = self._pricer.price(
            specs,
            location_id=location_id,
            currency=currency,
            tax=self._catalog.taxes[location_id],
            discount=discount,
            discounted_line=discounted_line,
        )

        order_id = self._ids.order()
        source = pick(rng, SOURCES, SOURCE_CUM_WEIGHTS)
        fraction = not whole_seconds
        closed_at = format_ms(closed_ms, fraction=fraction)
        tenders: list[JSONObject] = []
        tip = 0
        if state == "COMPLETED":
            tenders, tip = self._tenders.pay(
                order_id=order_id,
                location_id=location_id,
                currency=currency,
                due=priced.total,
                online=source != SOURCES[0],
                created_at=closed_at,
            )
        money = self._money
        total = priced.total + tip
        order: JSONObject = {
            "id": order_id,
            "location_id": location_id,
            "source": {"name": source},
            "line_items": priced.line_items,
        }
        if priced.taxes:
            order["taxes"] = priced.taxes
        if priced.discounts:
            order["discounts"] = priced.discounts
        if tenders:
            order["tenders"] = tenders
        order["net_amounts"] = money_amounts(money, currency, total, priced.tax, priced.discount, tip)
        order["created_at"] = format_ms(created_ms, fraction=fraction)
        order["updated_at"] = format_ms(updated_ms, fraction=fraction)
        order["state"] = state
        order["version"] = version
        order["total_money"] = money(total, currency)
        order["total_tax_money"] = money(priced.tax, currency)
        order["total_discount_money"] = money(priced.discount, currency)
        order["total_tip_money"] = money(tip, currency)
        order["total_service_charge_money"] = money(0, currency)
        if state in ("COMPLETED", "CANCELED"):  # closed_at: when the order reached a terminal state
            order["closed_at"] = closed_at
        paid = sum(tender["amount_money"]["amount"] for tender in tenders)
        order["net_amount_due_money"] = money(max(0, total - paid), currency)
        return order

    def _basket(self, location_id: str, currency: str, daypart: int) -> list[LineSpec]:
        """The lines of one sale: catalog items, sometimes a custom amount or a gift card."""
        rng = self._rng
        gift_draw = rng.random()
        if gift_draw < GIFT_CARD_ONLY_SHARE:
            return [self._gift_card(currency)]
        basket_size = pick(rng, BASKET_SIZES, BASKET_CUM_WEIGHTS)
        picks = rng.choices(self._variations, cum_weights=self._daypart_cum_weights[daypart], k=basket_size)
        quantities: dict[str, int] = {}
        chosen: dict[str, Variation] = {}
        for variation in picks:
            quantity = pick(rng, QUANTITIES, QUANTITY_CUM_WEIGHTS)
            quantities[variation.id] = quantities.get(variation.id, 0) + quantity
            chosen[variation.id] = variation
        specs = []
        for variation_id, quantity in quantities.items():
            variation = chosen[variation_id]
            unit_price, _ = variation.prices[location_id]  # priced in the location's currency
            specs.append(
                LineSpec(
                    "ITEM",
                    variation.item_name,
                    unit_price,
                    quantity,
                    variation=variation,
                    modifiers=self._modifiers(variation),
                    category=variation.category,
                )
            )
        if len(specs) < MAX_LINES and rng.random() < CUSTOM_AMOUNT_SHARE:
            amount = convert_price(rng.randrange(4, 80) * 25, currency)
            specs.append(LineSpec("CUSTOM_AMOUNT", "Custom Amount", amount, 1))
        if len(specs) < MAX_LINES and gift_draw < GIFT_CARD_SHARE:
            specs.append(self._gift_card(currency))
        return specs

    def _gift_card(self, currency: str) -> LineSpec:
        amount = convert_price(self._rng.choice(GIFT_CARD_US_CENTS), currency)
        return LineSpec("GIFT_CARD", "Gift Card", amount, 1)

    def _modifiers(self, variation: Variation) -> tuple[Modifier, ...]:
        if not variation.modifier_lists:
            return ()
        rng = self._rng
        chosen: list[Modifier] = []
        lists = self._catalog.modifiers
        if "Milk" in variation.modifier_lists and rng.random() < MILK_SHARE:
            chosen.append(rng.choices(lists["Milk"], weights=MILK_WEIGHTS)[0])
        if "Extras" in variation.modifier_lists:
            shot, syrup = lists["Extras"]
            if rng.random() < EXTRA_SHOT_SHARE:
                chosen.append(shot)
            if rng.random() < SYRUP_SHARE:
                chosen.append(syrup)
        return tuple(chosen)

    def _discount(self, specs: list[LineSpec], currency: str, daypart: int) -> tuple[Discount | None, int | None]:
        """At most one discount per order (see the module docstring for the shares)."""
        draw = self._rng.random()
        catalog = self._catalog
        subtotal = sum(spec.base * spec.quantity for spec in specs if spec.taxable)
        if subtotal <= 0:
            return None, None
        if draw < ORDER_PERCENT_SHARE:
            return catalog.percent_discounts["ORDER"], None
        if draw < ORDER_PERCENT_SHARE + LOYALTY_SHARE:
            reward = catalog.loyalty_rewards[currency]
            return (reward, None) if subtotal >= 2 * reward.amount else (None, None)
        if daypart == 2 and draw < ORDER_PERCENT_SHARE + LOYALTY_SHARE + DAY_OLD_SHARE:
            pastries = [index for index, spec in enumerate(specs) if spec.category == "Bakery"]
            if pastries:
                return catalog.percent_discounts["LINE_ITEM"], pastries[0]
        return None, None
