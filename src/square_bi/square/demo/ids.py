"""Deterministic identifiers shaped like Square's.

Square's ids are opaque, but each kind has a recognisable shape that we copy so the data
looks real and downstream code cannot rely on anything stricter than "an opaque string":

* merchants and locations: 13 characters of Crockford base32, e.g. ``18YC4JDH91E1H``;
* catalog objects: 24 characters of RFC 4648 base32, e.g. ``X5DZ5NWWAQ44CKBLKIFQGOWK``;
* orders: 27 mixed-case alphanumerics, e.g. ``CAISENgvlJ6jLWAzERDzjyHVybY`` (order ids are
  case-sensitive: ``abc`` and ``ABC`` are different orders);
* order line item ``uid`` (and the uids of an order's taxes, discounts, modifiers, returns):
  22 mixed-case alphanumerics;
* tenders (which share their id with the payment): 29 mixed-case alphanumerics, e.g.
  ``KkAkhdMsgzn59SM8A89WgKwekxLZY``;
* refunds: the refunded payment's id, ``_`` and 43 mixed-case alphanumerics (Square's refund ids
  start with their payment's id);
* customers: 26 characters of Crockford base32, e.g. ``JDKYHBWT1D4F8MFH63DBMEN8Y4``;
* team members: ``TM`` and 14 mixed-case alphanumerics, e.g. ``TMoK0gh6rH1o4dVx``;
* payment ``version_token``: 45 mixed-case alphanumerics.
"""

from __future__ import annotations

import random
import string

CROCKFORD32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE32 = string.ascii_uppercase + "234567"
BASE62 = string.ascii_uppercase + string.ascii_lowercase + string.digits


class IdFactory:
    """Draws unique Square-shaped ids from one seeded random stream."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._issued: set[str] = set()

    def _draw(self, alphabet: str, length: int) -> str:
        while True:
            candidate = "".join(self._rng.choices(alphabet, k=length))
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate

    def merchant(self) -> str:
        return self._draw(CROCKFORD32, 13)

    def location(self) -> str:
        return self._draw(CROCKFORD32, 13)

    def catalog(self) -> str:
        return self._draw(BASE32, 24)

    def order(self) -> str:
        # Square order ids start with a letter; keep that so they never look numeric.
        return self._rng.choice(string.ascii_uppercase) + self._draw(BASE62, 26)

    def line_item_uid(self) -> str:
        # Line item uids only need to be unique within their order; skip the global set.
        return "".join(self._rng.choices(BASE62, k=22))

    def uid(self) -> str:
        """A uid for anything inside an order (taxes, discounts, modifiers, returns)."""
        return "".join(self._rng.choices(BASE62, k=22))

    def tender(self) -> str:
        return self._draw(BASE62, 29)

    def refund(self, payment_id: str) -> str:
        return f"{payment_id}_{self._draw(BASE62, 43)}"

    def customer(self) -> str:
        return self._draw(CROCKFORD32, 26)

    def team_member(self) -> str:
        return "TM" + self._draw(BASE62, 14)

    def version_token(self) -> str:
        return "".join(self._rng.choices(BASE62, k=45))
