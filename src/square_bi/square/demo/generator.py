"""Deterministic demo merchant: configuration in, Square-shaped JSON out.

``generate(DemoConfig(...))`` returns plain JSON-ready dicts exactly as Square's API would send
them (see ``locations``, ``catalog`` and ``orders`` for the shapes). The HTTP side lives in
``app`` and only serves what this module produced; ``returns`` adds the return orders of the
sales ``orders`` made; ``team`` and ``customers`` add the staff and the customer directory and
attribute the completed orders to them (``customer_id`` on orders and tenders); ``payments``
turns every tender into a ``Payment`` and every return's money back into ``PaymentRefund`` objects.

Scale: generation streams. Each sale is attributed to a customer, paid (payments written to the
ledger's store), given its return orders (refunds) and stored compressed as soon as it is drawn
(see ``store``), so no more than one order is ever held as dicts; the stores are sorted by
``created_at`` at the end. A merchant with a million line items (365 days, about 1,500 orders a
day) generates in well under a minute and holds a fraction of the memory its dicts would take
(``bench/bench_demo.py`` measures both).

Determinism: the same config gives byte-identical data (the JSON of every object, in order, is
equal), because every random draw comes from ``random.Random`` streams seeded with strings
derived from ``seed`` (string seeds are hashed with SHA-512, independent of ``PYTHONHASHSEED``).
With ``anchor=None`` the anchor is today's UTC midnight, so the data only repeats within a day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .catalog import Catalog, build_catalog
from .customers import CustomerBook, customer_count
from .ids import IdFactory
from .locations import MAX_LOCATIONS, build_locations
from .orders import DAY_MS, OrderSynthesizer, OrderWindow, money_pool
from .payments import PaymentLedger
from .returns import ReturnMaker
from .store import ObjectStore, OrderStore, release_freed_memory
from .team import TeamRoster, build_team
from .tenders import TenderMaker
from .timefmt import datetime_to_us, parse_rfc3339_us

JSONObject = dict[str, Any]

BUSINESS_NAME = "Juniper & Crumb Coffee"


class DemoConfig(BaseModel):
    """What the demo merchant looks like.

    ``orders_per_day`` is the average number of orders per day across *all* locations together
    (busier locations get a larger share, weekends and growth vary it around the average).
    ``anchor`` is the simulated "now" in UTC: orders fall in the ``days`` days before it. A
    naive datetime is taken as UTC; ``None`` means today's UTC midnight.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 42
    days: int = Field(default=90, ge=1, le=3650)
    locations: int = Field(default=3, ge=2, le=MAX_LOCATIONS)
    orders_per_day: int = Field(default=200, ge=0, le=100_000)
    anchor: datetime | None = None

    @field_validator("anchor")
    @classmethod
    def _anchor_in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def resolved_anchor(self) -> datetime:
        """The anchor actually used: ``anchor`` or today's UTC midnight."""
        if self.anchor is not None:
            return self.anchor
        now = datetime.now(UTC)
        return datetime(now.year, now.month, now.day, tzinfo=UTC)


@dataclass(frozen=True)
class DemoData:
    """Everything the demo merchant serves, as Square JSON objects. Orders, payments and refunds
    are held compressed in object stores (``store``) (they read like lists of dicts; change
    one only through its store's ``put``); the rest are plain lists of dicts: treat them as
    read-only (the live merchant changes them)."""

    config: DemoConfig
    anchor: datetime
    merchant_id: str
    business_name: str
    locations: list[JSONObject]
    catalog_objects: list[JSONObject]
    orders: OrderStore
    """Sorted by ``created_at`` then id; compact (see ``store``): reading gives fresh dicts."""
    team_members: list[JSONObject] = field(default_factory=list)
    customers: list[JSONObject] = field(default_factory=list)
    payments: ObjectStore = field(default_factory=ObjectStore)
    """Sorted by ``created_at`` then id, compact like ``orders``."""
    refunds: ObjectStore = field(default_factory=ObjectStore)
    """Sorted by ``created_at`` then id, compact like ``orders``."""
    catalog: Catalog | None = field(default=None, repr=False, compare=False)
    """The catalog as orders sell it (variations with prices, taxes, discounts, modifiers)."""
    location_traffic: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    """Location id -> relative order volume."""
    _by_id: dict[str, JSONObject] = field(default_factory=dict, repr=False, compare=False)

    def location(self, location_id: str) -> JSONObject:
        """The location with ``location_id`` (``KeyError`` if unknown)."""
        if not self._by_id:
            self._by_id.update((loc["id"], loc) for loc in self.locations)
        return self._by_id[location_id]

    @property
    def main_location_id(self) -> str:
        """The seller's main location: the first one opened (what ``GET /v2/payments`` lists
        when no ``location_id`` is given)."""
        return min(self.locations, key=lambda loc: (parse_rfc3339_us(loc["created_at"]), loc["id"]))["id"]

    @property
    def window_start(self) -> datetime:
        """Earliest possible ``created_at`` of an order."""
        return self.anchor - timedelta(days=self.config.days)


def generate(config: DemoConfig | None = None) -> DemoData:
    """Build the demo merchant described by ``config`` (defaults: 3 locations, 90 days)."""
    config = config or DemoConfig()
    anchor = config.resolved_anchor()
    end_ms = datetime_to_us(anchor) // 1000
    start_ms = end_ms - config.days * DAY_MS

    def stream(name: str) -> random.Random:
        return random.Random(f"square-bi-demo:{config.seed}:{name}")

    merchant_ids = IdFactory(stream("merchant"))
    merchant_id = merchant_ids.merchant()
    shops = build_locations(
        config.locations,
        merchant_ids,
        merchant_id=merchant_id,
        business_name=BUSINESS_NAME,
        first_created_ms=start_ms - 2 * 365 * DAY_MS,
    )
    locations = [location for _, location in shops]

    catalog = build_catalog(
        stream("catalog"),
        IdFactory(stream("catalog-ids")),
        locations=locations,
        created_ms=start_ms - 150 * DAY_MS,
        window_start_ms=start_ms,
        window_end_ms=end_ms,
    )

    people_ids = IdFactory(stream("people-ids"))
    team = build_team(stream("team"), people_ids, locations, window_start_ms=start_ms, window_end_ms=end_ms)
    book = CustomerBook(stream("customers"), people_ids)
    customers = book.build(
        customer_count(config.orders_per_day, config.days),
        location_ids=[location["id"] for location in locations],
        location_weights=[template.traffic for template, _ in shops],
        window_start_ms=start_ms,
        window_end_ms=end_ms,
    )

    money = money_pool()
    synthesizer = OrderSynthesizer(stream("orders"), IdFactory(stream("order-ids")), catalog, money)
    returns_rng = stream("returns")
    return_ids = IdFactory(stream("return-ids"))
    return_maker = ReturnMaker(returns_rng, return_ids, money, catalog, TenderMaker(returns_rng, return_ids, money))
    orders, payments, refunds = OrderStore(), ObjectStore(), ObjectStore()
    ledger = PaymentLedger(
        stream("payments"),
        IdFactory(stream("payment-ids")),
        money,
        TeamRoster(team),
        end_ms,
        payments=payments,
        refunds=refunds,
        sale_of=orders.get,
    )
    templates = {location["id"]: template for template, location in shops}
    returned: dict[tuple[str, str], int] = {}
    window = OrderWindow(start_ms=start_ms, end_ms=end_ms, orders_per_day=config.orders_per_day)
    for created_ms, sale in synthesizer.stream(shops, window):
        customer_id = _attribute(sale, created_ms, book)
        orders.put(sale)
        ledger.record(sale)
        for return_order in return_maker.returns_of(sale, templates, end_ms, returned):
            if customer_id is not None:  # a return order inherits its sale's customer
                _set_customer(return_order, customer_id)
            orders.put(return_order)
            ledger.record(return_order)
    orders.sort()
    payments.sort()
    refunds.sort()
    release_freed_memory()

    return DemoData(
        config=config,
        anchor=anchor,
        merchant_id=merchant_id,
        business_name=BUSINESS_NAME,
        locations=sorted(locations, key=lambda loc: loc["name"]),
        catalog_objects=catalog.objects,
        orders=orders,
        team_members=team,
        customers=customers,
        payments=payments,
        refunds=refunds,
        catalog=catalog,
        location_traffic={location["id"]: template.traffic for template, location in shops},
    )


def _attribute(sale: JSONObject, created_ms: int, book: CustomerBook) -> str | None:
    """Put a ``customer_id`` on a completed sale (and its tenders), or leave it anonymous."""
    if sale["state"] != "COMPLETED":
        return None
    online = sale["source"]["name"] != "Square Point of Sale"
    customer_id = book.attribute(sale["location_id"], created_ms, online=online)
    if customer_id is not None:
        _set_customer(sale, customer_id)
    return customer_id


def _set_customer(order: JSONObject, customer_id: str) -> None:
    order["customer_id"] = customer_id
    for tender in order.get("tenders", ()):
        tender["customer_id"] = customer_id
