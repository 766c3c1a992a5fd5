"""Deterministic demo merchant: configuration in, Square-shaped JSON out.

``generate(DemoConfig(...))`` returns plain JSON-ready dicts exactly as Square's API would send
them (see ``locations``, ``catalog`` and ``orders`` for the shapes). The HTTP side lives in
``app`` and only serves what this module produced; ``returns`` adds the return orders of the
sales ``orders`` made, so the generator can grow (payments,
refunds, customers, late-arriving orders) without touching the server.

Determinism: the same config gives byte-identical data (``json.dumps`` of the result is
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

from .catalog import build_catalog
from .ids import IdFactory
from .locations import MAX_LOCATIONS, build_locations
from .orders import DAY_MS, MoneyPool, OrderSynthesizer, OrderWindow
from .returns import ReturnMaker
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
    """Everything the demo merchant serves, as Square JSON objects. Treat it as read-only:
    identical ``Money`` dicts are shared between orders to save memory."""

    config: DemoConfig
    anchor: datetime
    merchant_id: str
    business_name: str
    locations: list[JSONObject]
    catalog_objects: list[JSONObject]
    orders: list[JSONObject]
    _by_id: dict[str, JSONObject] = field(default_factory=dict, repr=False, compare=False)

    def location(self, location_id: str) -> JSONObject:
        """The location with ``location_id`` (``KeyError`` if unknown)."""
        if not self._by_id:
            self._by_id.update((loc["id"], loc) for loc in self.locations)
        return self._by_id[location_id]

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

    money = MoneyPool()
    order_ids = IdFactory(stream("order-ids"))
    synthesizer = OrderSynthesizer(stream("orders"), order_ids, catalog, money)
    sales = synthesizer.generate(
        shops, OrderWindow(start_ms=start_ms, end_ms=end_ms, orders_per_day=config.orders_per_day)
    )
    returns_rng = stream("returns")
    return_maker = ReturnMaker(returns_rng, order_ids, money, catalog, TenderMaker(returns_rng, order_ids, money))
    return_orders = return_maker.generate(sales, shops, end_ms)
    orders = sorted(sales + return_orders, key=lambda order: (parse_rfc3339_us(order["created_at"]), order["id"]))

    return DemoData(
        config=config,
        anchor=anchor,
        merchant_id=merchant_id,
        business_name=BUSINESS_NAME,
        locations=sorted(locations, key=lambda loc: loc["name"]),
        catalog_objects=catalog.objects,
        orders=orders,
    )
