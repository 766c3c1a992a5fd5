"""The demo merchant's customer directory (Square ``Customer``) and who placed which order.

* about one customer per 45 orders of the window (400 for the default 90 days x 200 orders),
  at least 20; 55 % were created before the window (up to two years earlier), the rest during it;
* each has a home shop and a loyalty weight (Pareto-distributed: a few regulars order very
  often, most only now and then);
* ``version`` 0 and ``updated_at`` = ``created_at`` for untouched profiles; about 30 % were edited
  later (a phone number added, an address fixed): ``version`` 1 to 3 and a later ``updated_at``,
  still before the anchor;
* :class:`CustomerBook` attributes orders: about 90 % of online orders and 33 % of counter
  sales carry a ``customer_id`` (about 40 % of completed orders overall), 85 % of the time a
  customer of that shop, always one created at or before the order; canceled and open orders
  stay anonymous.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any

from .ids import IdFactory
from .names import EMAIL_DOMAINS, FAMILY_NAMES, GIVEN_NAMES, email_local_part
from .timefmt import format_ms

JSONObject = dict[str, Any]

DAY_MS = 86_400_000
ORDERS_PER_CUSTOMER = 45
MIN_CUSTOMERS = 20
MAX_CUSTOMERS = 20_000
EXISTING_SHARE = 0.55  # created before the window
UPDATED_SHARE = 0.30
PHONE_SHARE = 0.4
ONLINE_CUSTOMER_SHARE = 0.90
COUNTER_CUSTOMER_SHARE = 0.33
HOME_SHARE = 0.85
SOURCES_BEFORE = ("DIRECTORY", "LOYALTY", "IMPORT", "INSTANT_PROFILE")
SOURCES_BEFORE_WEIGHTS = (25, 35, 15, 25)
SOURCES_DURING = ("DIRECTORY", "LOYALTY", "INSTANT_PROFILE", "ONLINE_STORE")
SOURCES_DURING_WEIGHTS = (15, 35, 30, 20)


def customer_count(orders_per_day: int, days: int) -> int:
    """How many customers a demo of this size has."""
    return max(MIN_CUSTOMERS, min(MAX_CUSTOMERS, round(orders_per_day * days / ORDERS_PER_CUSTOMER)))


@dataclass
class _Pool:
    """Customers sorted by creation, with cumulative loyalty weights for O(log n) draws."""

    created: list[int]
    ids: list[str]
    cum_weights: list[float]

    def draw(self, rng: random.Random, at_ms: int) -> str | None:
        eligible = bisect_right(self.created, at_ms)
        if eligible == 0:
            return None
        point = rng.random() * self.cum_weights[eligible - 1]
        return self.ids[min(bisect_left(self.cum_weights, point), eligible - 1)]


def _pool(members: list[tuple[int, str, float]]) -> _Pool:
    members = sorted(members)
    return _Pool(
        [created for created, _, _ in members],
        [customer_id for _, customer_id, _ in members],
        list(itertools.accumulate(weight for _, _, weight in members)),
    )


class CustomerBook:
    """Builds the directory and attributes orders to its customers."""

    def __init__(self, rng: random.Random, ids: IdFactory) -> None:
        self._rng = rng
        self._ids = ids
        self._by_location: dict[str, _Pool] = {}
        self._everyone = _Pool([], [], [])

    def build(
        self,
        count: int,
        *,
        location_ids: list[str],
        location_weights: list[float],
        window_start_ms: int,
        window_end_ms: int,
    ) -> list[JSONObject]:
        """``count`` customers, oldest first; remembers them for :meth:`attribute`."""
        rng = self._rng
        window = max(1, window_end_ms - window_start_ms)
        customers: list[JSONObject] = []
        members: dict[str, list[tuple[int, str, float]]] = {location_id: [] for location_id in location_ids}
        for _ in range(count):
            existing = rng.random() < EXISTING_SHARE
            if existing:
                created_ms = window_start_ms - rng.randrange(1, 2 * 365 * DAY_MS)
                source = rng.choices(SOURCES_BEFORE, SOURCES_BEFORE_WEIGHTS)[0]
            else:
                created_ms = window_start_ms + rng.randrange(window)
                source = rng.choices(SOURCES_DURING, SOURCES_DURING_WEIGHTS)[0]
            given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
            version, updated_ms = 0, created_ms
            if rng.random() < UPDATED_SHARE:
                version = rng.choice((1, 1, 2, 3))
                updated_ms = created_ms + 1 + rng.randrange(max(1, window_end_ms - 1 - created_ms))
            suffix = str(rng.randrange(10, 100)) if rng.random() < 0.5 else ""
            customer: JSONObject = {
                "id": self._ids.customer(),
                "created_at": format_ms(created_ms),
                "updated_at": format_ms(updated_ms),
                "given_name": given,
                "family_name": family,
                "email_address": f"{email_local_part(given, family)}{suffix}@{rng.choice(EMAIL_DOMAINS)}",
            }
            if rng.random() < PHONE_SHARE:
                customer["phone_number"] = f"+1-555-01{rng.randrange(100):02d}"
            customer["preferences"] = {"email_unsubscribed": rng.random() < 0.1}
            customer["creation_source"] = source
            customer["version"] = version
            customers.append(customer)
            home = rng.choices(location_ids, weights=location_weights)[0]
            members[home].append((created_ms, customer["id"], min(20.0, rng.paretovariate(1.2))))
        self._by_location = {location_id: _pool(entries) for location_id, entries in members.items()}
        self._everyone = _pool([entry for entries in members.values() for entry in entries])
        return sorted(customers, key=lambda c: (c["created_at"], c["id"]))

    def attribute(self, location_id: str, at_ms: int, *, online: bool) -> str | None:
        """The customer who placed a sale at ``location_id`` created at ``at_ms``, or None."""
        rng = self._rng
        if rng.random() >= (ONLINE_CUSTOMER_SHARE if online else COUNTER_CUSTOMER_SHARE):
            return None
        home = rng.random() < HOME_SHARE and location_id in self._by_location
        pool = self._by_location[location_id] if home else self._everyone
        return pool.draw(rng, at_ms)
