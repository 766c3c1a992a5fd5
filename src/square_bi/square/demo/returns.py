"""Returns and exchanges: separate ``COMPLETED`` return orders pointing back at their sales.

Square never edits a sale when something is brought back: the POS creates a *return order* at
the same location whose ``returns[]`` holds one ``OrderReturn`` with the ``source_order_id`` of
the sale and ``return_line_items[]`` whose ``source_line_item_uid`` names the sold line. The
demo mimics that:

* about 2.2 % of completed sales that sold a catalog item get a return order 1 to 10 days after
  the sale closed, inside the shop's local opening hours and before the anchor (sales too close
  to the anchor simply get none);
* a return takes back one line (70 %) or every catalog line (30 %); most lines come back whole,
  about 30 % of lines with more than one unit only partly; after a partial return, half of the
  sales get a second return order for the rest 1 to 10 days after the first; custom amounts and gift cards
  are never returned;
* about 15 % of first returns are **exchanges**: the return order also sells one new item from
  the same category (``line_items``, taxed like any sale); when the new item costs more than the
  refund the buyer pays the difference with a card tender;
* a return line repeats the sold line's catalog ids, name and ``base_price_money``;
  ``variation_total_price_money`` = base x returned quantity; its ``return_modifiers`` mirror
  the sold modifiers (``source_modifier_uid``), totals x returned quantity;
  ``gross_return_money`` (= variation total + modifiers), ``total_discount_money`` and
  ``total_tax_money`` are the returned quantity's share of the sold line's, by cumulative
  proration (``pricing.prorate``: the returns of a line never exceed it and a complete return
  gives back exactly its amounts); ``total_money`` = gross - discount + additive tax;
* each return line's ``applied_taxes`` / ``applied_discounts`` reference the return's
  ``return_taxes`` / ``return_discounts``, which name the sale's tax or discount in
  ``source_tax_uid`` / ``source_discount_uid`` and sum their lines;
* ``OrderReturn.return_amounts`` and the order's ``return_amounts`` roll up the returned totals,
  tax and discount (tips are never returned);
* a return order's ``total_money``, ``total_tax_money`` and ``total_discount_money`` are **net**:
  its own sales (an exchange's new line, zero otherwise) minus ``return_amounts``, so a plain
  return has a negative ``total_money``; ``net_amounts`` equals those net totals (sales minus
  returns, the same rule as on sale orders, whose ``return_amounts`` are absent, i.e. zero).
  Tenders exist only when the net total is positive and sum to it; the refund of a negative
  total goes through Square's refunds, which the demo does not model.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .catalog import Catalog
from .ids import IdFactory
from .locations import LocationTemplate
from .orders import LinePricer, LineSpec, money_amounts
from .pricing import prorate
from .tenders import TenderMaker
from .timefmt import format_ms, parse_rfc3339_us

JSONObject = dict[str, Any]

RETURN_SHARE = 0.022  # of completed sales with a catalog item
WHOLE_SALE_SHARE = 0.3  # returns taking back every catalog line
PARTIAL_SHARE = 0.3  # of returned lines with more than one unit
SECOND_RETURN_SHARE = 0.5  # of sales left partly returned
EXCHANGE_SHARE = 0.15  # of first returns


class ReturnMaker:
    """Builds the return orders of a list of sales from one seeded stream."""

    def __init__(
        self,
        rng: random.Random,
        ids: IdFactory,
        money: Callable[[int, str], JSONObject],
        catalog: Catalog,
        tenders: TenderMaker,
    ) -> None:
        self._rng = rng
        self._ids = ids
        self._money = money
        self._catalog = catalog
        self._pricer = LinePricer(ids, money)
        self._tenders = tenders

    def generate(
        self, sales: list[JSONObject], shops: list[tuple[LocationTemplate, JSONObject]], end_ms: int
    ) -> list[JSONObject]:
        """Return orders for ``sales`` (in the order of ``sales``), all created before ``end_ms``."""
        templates = {location["id"]: template for template, location in shops}
        returned: dict[tuple[str, str], int] = {}
        return [order for sale in sales for order in self.returns_of(sale, templates, end_ms, returned)]

    def returns_of(
        self,
        sale: JSONObject,
        templates: dict[str, LocationTemplate],
        end_ms: int,
        returned: dict[tuple[str, str], int],
    ) -> list[JSONObject]:
        """The return orders of one sale (none, one, or a first and a second), all created before
        ``end_ms``; ``templates`` maps location ids to their shops; ``returned`` holds the units of
        each ``(sale id, line uid)`` already returned and is updated."""
        rng = self._rng
        if sale["state"] != "COMPLETED" or "returns" in sale or rng.random() >= RETURN_SHARE:
            return []
        lines = [line for line in sale["line_items"] if line["item_type"] == "ITEM"]
        if not lines:
            return []
        chosen = lines if rng.random() < WHOLE_SALE_SHARE else [rng.choice(lines)]
        picks = []
        for line in chosen:
            quantity = int(line["quantity"])
            partial = quantity > 1 and rng.random() < PARTIAL_SHARE
            picks.append((line, rng.randint(1, quantity - 1) if partial else quantity))
        template = templates[sale["location_id"]]
        after_ms = parse_rfc3339_us(sale["closed_at"]) // 1000
        exchange = rng.random() < EXCHANGE_SHARE
        first = self._return_order(sale, picks, template, after_ms, end_ms, returned, exchange)
        if first is None:
            return []
        orders = [first]
        leftovers = [(line, int(line["quantity"]) - returned.get((sale["id"], line["uid"]), 0)) for line in chosen]
        leftovers = [(line, left) for line, left in leftovers if left > 0]
        if leftovers and rng.random() < SECOND_RETURN_SHARE:
            after_ms = parse_rfc3339_us(first["closed_at"]) // 1000
            second = self._return_order(sale, leftovers, template, after_ms, end_ms, returned, False)
            if second is not None:
                orders.append(second)
        return orders

    def _when(self, template: LocationTemplate, after_ms: int) -> int:
        """A moment 1 to 10 local days after ``after_ms``, inside the shop's opening hours."""
        rng = self._rng
        zone = ZoneInfo(template.timezone)
        day = (datetime.fromtimestamp(after_ms / 1000, tz=zone) + timedelta(days=rng.randint(1, 10))).date()
        opens, closes = template.hours_for(day.weekday())
        hour = rng.randrange(opens, closes)
        minute = rng.randrange(45 if hour == closes - 1 else 60)
        local = datetime(day.year, day.month, day.day, hour, minute, rng.randrange(60), tzinfo=zone)
        return int(local.timestamp()) * 1000 + rng.randrange(1000)

    def _return_order(
        self,
        sale: JSONObject,
        picks: list[tuple[JSONObject, int]],
        template: LocationTemplate,
        after_ms: int,
        end_ms: int,
        returned: dict[tuple[str, str], int],
        exchange: bool,
    ) -> JSONObject | None:
        rng = self._rng
        created_ms = self._when(template, after_ms)
        closed_ms = created_ms + rng.randrange(30, 5 * 60) * 1000
        updated_ms = closed_ms + rng.randrange(200, 4000)
        if updated_ms >= end_ms or created_ms <= after_ms:
            return None
        return self.build(sale, picks, created_ms, closed_ms, updated_ms, returned, exchange)

    def build(
        self,
        sale: JSONObject,
        picks: list[tuple[JSONObject, int]],
        created_ms: int,
        closed_ms: int,
        updated_ms: int,
        returned: dict[tuple[str, str], int],
        exchange: bool,
    ) -> JSONObject | None:
        """The return order taking back ``picks`` (line, quantity) of ``sale`` at the given times;
        ``returned`` holds the units of each ``(sale id, line uid)`` already returned and is updated.
        None when nothing is left to return."""
        rng = self._rng
        money = self._money
        uid = self._ids.uid
        location_id = sale["location_id"]
        currency = sale["total_money"]["currency"]
        sale_taxes = {tax["uid"]: tax for tax in sale.get("taxes", [])}
        sale_discounts = {discount["uid"]: discount for discount in sale.get("discounts", [])}
        tax_uids: dict[str, str] = {}
        tax_sums: dict[str, int] = {}
        discount_uids: dict[str, str] = {}
        discount_sums: dict[str, int] = {}
        return_lines: list[JSONObject] = []
        total = tax_sum = discount_sum = 0
        for line, quantity in picks:
            sold = int(line["quantity"])
            key = (sale["id"], line["uid"])
            before = returned.get(key, 0)
            quantity = min(quantity, sold - before)
            if quantity <= 0:
                continue
            returned[key] = before + quantity
            base = line["base_price_money"]["amount"]
            gross = prorate(line["gross_sales_money"]["amount"], before, quantity, sold)
            discount = prorate(line["total_discount_money"]["amount"], before, quantity, sold)
            tax = prorate(line["total_tax_money"]["amount"], before, quantity, sold)
            additive = False
            item: JSONObject = {
                "uid": uid(),
                "source_line_item_uid": line["uid"],
                "name": line["name"],
                "quantity": str(quantity),
                "catalog_object_id": line["catalog_object_id"],
                "catalog_version": line["catalog_version"],
                "variation_name": line["variation_name"],
                "item_type": line["item_type"],
            }
            if line.get("modifiers"):
                item["return_modifiers"] = [
                    {
                        "uid": uid(),
                        "source_modifier_uid": modifier["uid"],
                        "catalog_object_id": modifier["catalog_object_id"],
                        "catalog_version": modifier["catalog_version"],
                        "name": modifier["name"],
                        "base_price_money": modifier["base_price_money"],
                        "total_price_money": money(
                            modifier["base_price_money"]["amount"] * int(modifier["quantity"]) * quantity, currency
                        ),
                        "quantity": modifier["quantity"],
                    }
                    for modifier in line["modifiers"]
                ]
            if line.get("applied_taxes"):
                applied = []
                for entry in line["applied_taxes"]:  # one tax per line: it carries the whole line tax
                    source_uid = entry["tax_uid"]
                    additive = sale_taxes[source_uid]["type"] == "ADDITIVE"
                    tax_uids.setdefault(source_uid, uid())
                    tax_sums[source_uid] = tax_sums.get(source_uid, 0) + tax
                    applied.append(
                        {"uid": uid(), "tax_uid": tax_uids[source_uid], "applied_money": money(tax, currency)}
                    )
                item["applied_taxes"] = applied
            if line.get("applied_discounts"):
                applied = []
                for entry in line["applied_discounts"]:  # at most one discount per line
                    source_uid = entry["discount_uid"]
                    discount_uids.setdefault(source_uid, uid())
                    discount_sums[source_uid] = discount_sums.get(source_uid, 0) + discount
                    applied.append(
                        {
                            "uid": uid(),
                            "discount_uid": discount_uids[source_uid],
                            "applied_money": money(discount, currency),
                        }
                    )
                item["applied_discounts"] = applied
            line_total = gross - discount + (tax if additive else 0)
            item["base_price_money"] = money(base, currency)
            item["variation_total_price_money"] = money(base * quantity, currency)
            item["gross_return_money"] = money(gross, currency)
            item["total_tax_money"] = money(tax, currency)
            item["total_discount_money"] = money(discount, currency)
            item["total_money"] = money(line_total, currency)
            item["total_service_charge_money"] = money(0, currency)
            return_lines.append(item)
            total += line_total
            tax_sum += tax
            discount_sum += discount
        if not return_lines:
            return None

        order_return: JSONObject = {
            "uid": uid(),
            "source_order_id": sale["id"],
            "return_line_items": return_lines,
        }
        if tax_uids:
            order_return["return_taxes"] = [
                {
                    "uid": tax_uids[source_uid],
                    "source_tax_uid": source_uid,
                    "catalog_object_id": sale_taxes[source_uid]["catalog_object_id"],
                    "catalog_version": sale_taxes[source_uid]["catalog_version"],
                    "name": sale_taxes[source_uid]["name"],
                    "type": sale_taxes[source_uid]["type"],
                    "percentage": sale_taxes[source_uid]["percentage"],
                    "applied_money": money(tax_sums[source_uid], currency),
                    "scope": sale_taxes[source_uid]["scope"],
                }
                for source_uid in tax_uids
            ]
        if discount_uids:
            rendered = []
            for source_uid in discount_uids:
                source = sale_discounts[source_uid]
                entry = {
                    "uid": discount_uids[source_uid],
                    "source_discount_uid": source_uid,
                    "catalog_object_id": source["catalog_object_id"],
                    "catalog_version": source["catalog_version"],
                    "name": source["name"],
                    "type": source["type"],
                }
                if "percentage" in source:
                    entry["percentage"] = source["percentage"]
                if "amount_money" in source:
                    entry["amount_money"] = source["amount_money"]
                entry["applied_money"] = money(discount_sums[source_uid], currency)
                entry["scope"] = source["scope"]
                rendered.append(entry)
            order_return["return_discounts"] = rendered
        order_return["return_amounts"] = money_amounts(money, currency, total, tax_sum, discount_sum, 0)

        order_id = self._ids.order()
        order: JSONObject = {"id": order_id, "location_id": location_id, "source": {"name": "Square Point of Sale"}}
        sold_total = sold_tax = sold_discount = 0
        if exchange:
            first = picks[0][0]
            category = next(v.category for v in self._catalog.variations if v.id == first["catalog_object_id"])
            options = [v for v in self._catalog.variations if v.category == category]
            variation = rng.choice(options)
            spec = LineSpec("ITEM", variation.item_name, variation.prices[location_id][0], 1, variation=variation)
            priced = self._pricer.price(
                [spec], location_id=location_id, currency=currency, tax=self._catalog.taxes[location_id]
            )
            order["line_items"] = priced.line_items
            if priced.taxes:
                order["taxes"] = priced.taxes
            sold_total, sold_tax, sold_discount = priced.total, priced.tax, priced.discount
        order["returns"] = [order_return]
        order["return_amounts"] = order_return["return_amounts"]
        net_total = sold_total - total
        net_tax = sold_tax - tax_sum
        net_discount = sold_discount - discount_sum
        closed_at = format_ms(closed_ms)
        if net_total > 0:
            tenders, _ = self._tenders.pay(
                order_id=order_id,
                location_id=location_id,
                currency=currency,
                due=net_total,
                online=False,
                created_at=closed_at,
                tips=False,
            )
            order["tenders"] = tenders
        order["net_amounts"] = money_amounts(money, currency, net_total, net_tax, net_discount, 0)
        order["created_at"] = format_ms(created_ms)
        order["updated_at"] = format_ms(updated_ms)
        order["state"] = "COMPLETED"
        order["version"] = rng.choice((3, 4))
        order["total_money"] = money(net_total, currency)
        order["total_tax_money"] = money(net_tax, currency)
        order["total_discount_money"] = money(net_discount, currency)
        order["total_tip_money"] = money(0, currency)
        order["total_service_charge_money"] = money(0, currency)
        order["closed_at"] = closed_at
        order["net_amount_due_money"] = money(0, currency)
        return order
