"""The demo merchant's product catalog: a coffee shop and bakery.

Square's catalog is a flat set of ``CatalogObject`` records linked by id: a ``CATEGORY``; an
``ITEM`` that points at its category (``item_data.categories``, plus the deprecated
``category_id`` that older integrations still read) and embeds its variations in
``item_data.variations``; and ``ITEM_VARIATION`` objects (``item_variation_data.item_id``
points back at the item) that carry the price. Every object has an integer ``version`` that
grows with each edit (Square uses a millisecond timestamp) and an ``updated_at``.

A seller's catalog has one home currency. Locations that sell in another currency (the demo's
London, Berlin or Tokyo shops) get their price from ``item_variation_data.location_overrides``,
which is also how Square expresses per-location prices. One item is deleted
(``is_deleted: true``) so ``include_deleted_objects`` matters; a few items are edited inside
the order window so ``begin_time`` has something to find.

Pricing objects:

* ``TAX``: one per location (``present_at_location_ids``), its jurisdiction's rate from
  ``locations.SALES_TAXES`` (additive 8.625 % San Francisco, 8.875 % New York, ...; inclusive
  20 % VAT in London), ``calculation_phase: TAX_SUBTOTAL_PHASE``, applied to custom amounts too.
  Every item lists every tax in ``item_data.tax_ids``; only the one present at the selling
  location applies.
* ``DISCOUNT``: "10% Off" (``FIXED_PERCENTAGE``, used order-wide), "Day-Old Pastry" (50 %,
  used on one bakery line) and one "Loyalty Reward" ``FIXED_AMOUNT`` per currency (2.00 USD,
  1.60 GBP, ...; present only at the locations selling in that currency).
* ``MODIFIER_LIST`` "Milk" (single choice: whole +0, oat +0.75, almond +0.75) and "Extras"
  (multiple: extra shot +1.00, vanilla syrup +0.50), each embedding its ``MODIFIER`` objects
  (also listed top level, like variations) with per-location price overrides for other
  currencies; espresso drinks and tea lattes point at them through ``modifier_list_info``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .ids import IdFactory
from .locations import SALES_TAXES
from .pricing import milli_percent
from .timefmt import format_ms

JSONObject = dict[str, Any]

# category -> [(item name, popularity, [(variation name, price in US cents)])]
MENU: dict[str, list[tuple[str, float, list[tuple[str, int]]]]] = {
    "Coffee": [
        ("Drip Coffee", 9.0, [("Small", 300), ("Large", 375)]),
        ("Americano", 5.0, [("Regular", 350), ("Large", 425)]),
        ("Latte", 10.0, [("Small", 450), ("Large", 525), ("Oat Milk", 550)]),
        ("Cappuccino", 6.0, [("Regular", 450)]),
        ("Flat White", 4.0, [("Regular", 475)]),
        ("Cortado", 2.5, [("Regular", 400)]),
        ("Mocha", 3.0, [("Small", 500), ("Large", 575)]),
        ("Cold Brew", 5.0, [("Regular", 450), ("Large", 525)]),
        ("Espresso", 2.5, [("Single", 275), ("Double", 325)]),
    ],
    "Tea": [
        ("Chai Latte", 3.5, [("Small", 450), ("Large", 525)]),
        ("Matcha Latte", 3.0, [("Small", 525), ("Large", 600)]),
        ("Earl Grey", 1.5, [("Regular", 300)]),
        ("Iced Tea", 2.0, [("Regular", 325), ("Large", 375)]),
    ],
    "Bakery": [
        ("Croissant", 7.0, [("Butter", 375), ("Almond", 450), ("Chocolate", 425)]),
        ("Blueberry Muffin", 3.5, [("Regular", 350)]),
        ("Cinnamon Roll", 3.0, [("Regular", 425)]),
        ("Banana Bread", 2.5, [("Slice", 375)]),
        ("Chocolate Chip Cookie", 4.0, [("Single", 275), ("Half Dozen", 1500)]),
        ("Scone", 2.0, [("Plain", 325), ("Cheddar Chive", 375)]),
    ],
    "Breakfast": [
        ("Avocado Toast", 3.0, [("Regular", 1100), ("With Egg", 1300)]),
        ("Breakfast Sandwich", 4.0, [("Bacon", 950), ("Veggie", 850)]),
        ("Yogurt Parfait", 1.5, [("Regular", 650)]),
        ("Overnight Oats", 1.5, [("Regular", 650)]),
    ],
    "Lunch": [
        ("Turkey Sandwich", 4.0, [("Half", 750), ("Whole", 1250)]),
        ("Caprese Panini", 3.0, [("Regular", 1150)]),
        ("Soup of the Day", 2.5, [("Cup", 600), ("Bowl", 850)]),
        ("Garden Salad", 2.0, [("Regular", 1050)]),
    ],
    "Retail": [
        ("House Blend Beans 12oz", 1.0, [("Whole Bean", 1800), ("Ground", 1800)]),
        ("Ceramic Mug", 0.4, [("Regular", 1600)]),
    ],
}

# modifier list -> (selection type, [(modifier name, price in US cents)])
MODIFIER_LISTS: dict[str, tuple[str, list[tuple[str, int]]]] = {
    "Milk": ("SINGLE", [("Whole Milk", 0), ("Oat Milk", 75), ("Almond Milk", 75)]),
    "Extras": ("MULTIPLE", [("Extra Shot", 100), ("Vanilla Syrup", 50)]),
}
# item name -> the modifier lists it offers
ITEM_MODIFIER_LISTS: dict[str, tuple[str, ...]] = {
    "Americano": ("Extras",),
    "Latte": ("Milk", "Extras"),
    "Cappuccino": ("Milk", "Extras"),
    "Flat White": ("Milk", "Extras"),
    "Cortado": ("Milk",),
    "Mocha": ("Milk", "Extras"),
    "Cold Brew": ("Milk",),
    "Chai Latte": ("Milk",),
    "Matcha Latte": ("Milk",),
}
PERCENT_DISCOUNTS = (("10% Off", "10", "ORDER"), ("Day-Old Pastry", "50", "LINE_ITEM"))
LOYALTY_REWARD_US_CENTS = 200

DELETED_ITEM = ("Pumpkin Spice Latte", "Coffee", [("Regular", 575)])

# currency -> (US cents -> minor units factor, rounding step in minor units)
CURRENCY_RATES: dict[str, tuple[float, int]] = {
    "USD": (1.0, 5),
    "GBP": (0.8, 5),
    "CAD": (1.35, 5),
    "AUD": (1.5, 10),
    "NZD": (1.65, 10),
    "EUR": (0.92, 10),
    "JPY": (1.5, 10),  # yen have no minor unit: 100 US cents ~ 150 yen
}


def convert_price(us_cents: int, currency: str) -> int:
    """Convert a US-cent price to a "menu-looking" price in ``currency``'s smallest unit."""
    rate, step = CURRENCY_RATES[currency]
    return max(step, round(us_cents * rate / step) * step)


@dataclass(frozen=True)
class Variation:
    """What an order needs to know to sell one variation."""

    id: str
    version: int
    item_id: str
    item_name: str
    name: str
    category: str
    popularity: float
    prices: dict[str, tuple[int, str]]  # location id -> (amount, currency)
    modifier_lists: tuple[str, ...] = ()  # names of the modifier lists the item offers


@dataclass(frozen=True)
class Tax:
    """A catalog ``TAX`` as an order applies it."""

    id: str
    version: int
    name: str
    percentage: str
    inclusion_type: str
    milli: int  # percentage in milli-percent (see ``pricing``)


@dataclass(frozen=True)
class Discount:
    """A catalog ``DISCOUNT``: a percentage (``milli``) or a fixed ``amount`` in ``currency``."""

    id: str
    version: int
    name: str
    discount_type: str  # FIXED_PERCENTAGE or FIXED_AMOUNT
    scope: str  # how the demo uses it on orders: ORDER or LINE_ITEM
    percentage: str | None = None
    milli: int = 0
    amount: int = 0
    currency: str | None = None


@dataclass(frozen=True)
class Modifier:
    """A catalog ``MODIFIER`` with its price per location."""

    id: str
    version: int
    name: str
    list_name: str
    prices: dict[str, int]  # location id -> amount in the location's currency


@dataclass
class Catalog:
    objects: list[JSONObject]
    variations: list[Variation]  # sellable (not deleted) variations, in menu order
    taxes: dict[str, Tax]  # location id -> the tax that applies there
    percent_discounts: dict[str, Discount]  # scope -> discount
    loyalty_rewards: dict[str, Discount]  # currency -> fixed-amount discount
    modifiers: dict[str, list[Modifier]]  # modifier list name -> its modifiers


def _money(amount: int, currency: str) -> JSONObject:
    return {"amount": amount, "currency": currency}


def build_catalog(
    rng: random.Random,
    ids: IdFactory,
    *,
    locations: list[JSONObject],
    created_ms: int,
    window_start_ms: int,
    window_end_ms: int,
) -> Catalog:
    """Build the catalog objects (categories, items, variations) and the sellable variations.

    Objects are stamped between ``created_ms`` and ``window_start_ms``; three items are edited
    again inside ``[window_start_ms, window_end_ms)``.
    """
    home_currency = locations[0]["currency"]
    span = max(1, window_start_ms - created_ms - 86_400_000)

    def stamp() -> int:
        return created_ms + rng.randrange(span)

    objects: list[JSONObject] = []
    variations: list[Variation] = []
    items: list[JSONObject] = []

    def pricing_object(kind: str, key: str, data: JSONObject, at: list[str] | None = None) -> JSONObject:
        updated = stamp()
        obj: JSONObject = {
            "type": kind,
            "id": ids.catalog(),
            "updated_at": format_ms(updated),
            "version": updated,
            "is_deleted": False,
            "present_at_all_locations": at is None,
        }
        if at is not None:
            obj["present_at_location_ids"] = at
        obj[key] = data
        objects.append(obj)
        return obj

    taxes: dict[str, Tax] = {}
    for location in locations:
        rule = SALES_TAXES[location["name"]]
        tax_data = {
            "name": rule.name,
            "calculation_phase": "TAX_SUBTOTAL_PHASE",
            "inclusion_type": rule.inclusion_type,
            "percentage": rule.percentage,
            "applies_to_custom_amounts": True,
            "enabled": True,
        }
        obj = pricing_object("TAX", "tax_data", tax_data, [location["id"]])
        taxes[location["id"]] = Tax(
            obj["id"], obj["version"], rule.name, rule.percentage, rule.inclusion_type, milli_percent(rule.percentage)
        )

    percent_discounts: dict[str, Discount] = {}
    for discount_name, percentage, scope in PERCENT_DISCOUNTS:
        discount_data = {
            "name": discount_name,
            "discount_type": "FIXED_PERCENTAGE",
            "percentage": percentage,
            "pin_required": False,
            "modify_tax_basis": "MODIFY_TAX_BASIS",
        }
        obj = pricing_object("DISCOUNT", "discount_data", discount_data)
        percent_discounts[scope] = Discount(
            obj["id"],
            obj["version"],
            discount_name,
            "FIXED_PERCENTAGE",
            scope,
            percentage=percentage,
            milli=milli_percent(percentage),
        )

    loyalty_rewards: dict[str, Discount] = {}
    for currency in dict.fromkeys(loc["currency"] for loc in locations):
        amount = convert_price(LOYALTY_REWARD_US_CENTS, currency)
        discount_data = {
            "name": "Loyalty Reward",
            "discount_type": "FIXED_AMOUNT",
            "amount_money": _money(amount, currency),
            "pin_required": False,
            "modify_tax_basis": "MODIFY_TAX_BASIS",
        }
        at = [loc["id"] for loc in locations if loc["currency"] == currency]
        obj = pricing_object("DISCOUNT", "discount_data", discount_data, at)
        loyalty_rewards[currency] = Discount(
            obj["id"], obj["version"], "Loyalty Reward", "FIXED_AMOUNT", "ORDER", amount=amount, currency=currency
        )

    modifiers: dict[str, list[Modifier]] = {}
    modifier_list_ids: dict[str, str] = {}
    for list_ordinal, (list_name, (selection, entries)) in enumerate(MODIFIER_LISTS.items(), start=1):
        list_id = ids.catalog()
        modifier_list_ids[list_name] = list_id
        modifier_objects = []
        for ordinal, (modifier_name, us_cents) in enumerate(entries, start=1):
            updated = stamp()
            prices = {loc["id"]: convert_price(us_cents, loc["currency"]) if us_cents else 0 for loc in locations}
            modifier_data: JSONObject = {
                "name": modifier_name,
                "price_money": _money(convert_price(us_cents, home_currency) if us_cents else 0, home_currency),
                "on_by_default": ordinal == 1 and selection == "SINGLE",
                "ordinal": ordinal,
                "modifier_list_id": list_id,
            }
            overrides = [
                {"location_id": loc["id"], "price_money": _money(prices[loc["id"]], loc["currency"])}
                for loc in locations
                if loc["currency"] != home_currency
            ]
            if overrides:
                modifier_data["location_overrides"] = overrides
            modifier_obj: JSONObject = {
                "type": "MODIFIER",
                "id": ids.catalog(),
                "updated_at": format_ms(updated),
                "version": updated,
                "is_deleted": False,
                "present_at_all_locations": True,
                "modifier_data": modifier_data,
            }
            modifier_objects.append(modifier_obj)
            modifiers.setdefault(list_name, []).append(
                Modifier(modifier_obj["id"], updated, modifier_name, list_name, prices)
            )
        updated = max(stamp(), *(m["version"] for m in modifier_objects))
        objects.append(
            {
                "type": "MODIFIER_LIST",
                "id": list_id,
                "updated_at": format_ms(updated),
                "version": updated,
                "is_deleted": False,
                "present_at_all_locations": True,
                "modifier_list_data": {
                    "name": list_name,
                    "ordinal": list_ordinal,
                    "selection_type": selection,
                    "modifiers": modifier_objects,
                },
            }
        )
        objects.extend(modifier_objects)
    tax_ids = [tax.id for tax in taxes.values()]

    def add_item(
        name: str, category: JSONObject, popularity: float, menu: list[tuple[str, int]], deleted: bool
    ) -> None:
        item_id = ids.catalog()
        variation_objects = []
        for ordinal, (variation_name, us_cents) in enumerate(menu, start=1):
            updated = stamp()
            prices = {loc["id"]: (convert_price(us_cents, loc["currency"]), loc["currency"]) for loc in locations}
            data: JSONObject = {
                "item_id": item_id,
                "name": variation_name,
                "sku": f"{name[:3].upper()}-{variation_name[:3].upper()}-{ordinal}",
                "ordinal": ordinal,
                "pricing_type": "FIXED_PRICING",
                "price_money": _money(convert_price(us_cents, home_currency), home_currency),
                "sellable": True,
                "stockable": True,
            }
            overrides = [
                {"location_id": loc["id"], "price_money": _money(*prices[loc["id"]])}
                for loc in locations
                if loc["currency"] != home_currency
            ]
            if overrides:
                data["location_overrides"] = overrides
            variation: JSONObject = {
                "type": "ITEM_VARIATION",
                "id": ids.catalog(),
                "updated_at": format_ms(updated),
                "version": updated,
                "is_deleted": deleted,
                "present_at_all_locations": True,
                "item_variation_data": data,
            }
            variation_objects.append(variation)
            if not deleted:
                variations.append(
                    Variation(
                        id=variation["id"],
                        version=updated,
                        item_id=item_id,
                        item_name=name,
                        name=variation_name,
                        category=category["category_data"]["name"],
                        popularity=popularity / len(menu),
                        prices=prices,
                        modifier_lists=ITEM_MODIFIER_LISTS.get(name, ()),
                    )
                )
        updated = max(stamp(), *(v["version"] for v in variation_objects))
        item: JSONObject = {
            "type": "ITEM",
            "id": item_id,
            "updated_at": format_ms(updated),
            "version": updated,
            "is_deleted": deleted,
            "present_at_all_locations": True,
            "item_data": {
                "name": name,
                "category_id": category["id"],
                "categories": [{"id": category["id"], "ordinal": 0}],
                "reporting_category": {"id": category["id"], "ordinal": 0},
                "variations": variation_objects,
                "product_type": "FOOD_AND_BEV" if category["category_data"]["name"] != "Retail" else "REGULAR",
                "is_archived": False,
                "is_taxable": True,
                "tax_ids": tax_ids,
            },
        }
        offered = ITEM_MODIFIER_LISTS.get(name, ())
        if offered:
            item["item_data"]["modifier_list_info"] = [
                {"modifier_list_id": modifier_list_ids[list_name], "enabled": True, "ordinal": ordinal}
                for ordinal, list_name in enumerate(offered, start=1)
            ]
        items.append(item)
        objects.append(item)
        objects.extend(variation_objects)

    categories: dict[str, JSONObject] = {}
    for name in MENU:
        updated = stamp()
        category = {
            "type": "CATEGORY",
            "id": ids.catalog(),
            "updated_at": format_ms(updated),
            "version": updated,
            "is_deleted": False,
            "present_at_all_locations": True,
            "category_data": {"name": name, "category_type": "REGULAR_CATEGORY", "is_top_level": True},
        }
        categories[name] = category
        objects.append(category)

    for category_name, menu_items in MENU.items():
        for item_name, popularity, menu in menu_items:
            add_item(item_name, categories[category_name], popularity, menu, deleted=False)

    deleted_name, deleted_category, deleted_menu = DELETED_ITEM
    add_item(deleted_name, categories[deleted_category], 0.0, deleted_menu, deleted=True)

    # A few items get edited inside the order window (a new description), bumping their version.
    window = max(1, window_end_ms - window_start_ms)
    for item in rng.sample(items[:-1], k=3):
        updated = window_start_ms + rng.randrange(window)
        item["updated_at"] = format_ms(updated)
        item["version"] = updated
        item["item_data"]["description_html"] = f"<p>Now made with our new {item['item_data']['name']} recipe.</p>"

    return Catalog(
        objects=objects,
        variations=variations,
        taxes=taxes,
        percent_discounts=percent_discounts,
        loyalty_rewards=loyalty_rewards,
        modifiers=modifiers,
    )
