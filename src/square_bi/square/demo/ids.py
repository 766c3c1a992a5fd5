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

Speed: a merchant with a million line items draws millions of ids, so the long random ids (uids,
orders, tenders, refunds, version tokens) are drawn as random bytes mapped onto the alphabet in one
``bytes.translate`` (each byte ``b`` becomes ``alphabet[b % len(alphabet)]``, so the first
``256 % len`` characters are a few percent likelier: the ids stay opaque and unpredictable enough for
a demo). Those ids are not checked against the ids issued before: with 62^26 or more possible values,
a repeat among even ten million of them has a chance below 10^-30, and remembering every id would
keep millions of strings alive. Short ids (merchants, locations, catalog objects, customers, team
members) still are checked.
"""

from __future__ import annotations

import random
import string

CROCKFORD32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE32 = string.ascii_uppercase + "234567"
BASE62 = string.ascii_uppercase + string.ascii_lowercase + string.digits


def _byte_table(alphabet: str) -> bytes:
    """``bytes.translate`` table sending byte ``b`` to ``alphabet[b % len(alphabet)]``."""
    return bytes(ord(alphabet[value % len(alphabet)]) for value in range(256))


_BASE62_TABLE = _byte_table(BASE62)
_UPPERCASE_TABLE = _byte_table(string.ascii_uppercase)


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

    def _random(self, length: int, table: bytes = _BASE62_TABLE) -> str:
        return self._rng.getrandbits(8 * length).to_bytes(length, "little").translate(table).decode("ascii")

    def merchant(self) -> str:
        return self._draw(CROCKFORD32, 13)

    def location(self) -> str:
        return self._draw(CROCKFORD32, 13)

    def catalog(self) -> str:
        return self._draw(BASE32, 24)

    def order(self) -> str:
        # Square order ids start with a letter; keep that so they never look numeric.
        return self._random(1, _UPPERCASE_TABLE) + self._random(26)

    def line_item_uid(self) -> str:
        # Line item uids only need to be unique within their order.
        return self._random(22)

    def uid(self) -> str:
        """A uid for anything inside an order (taxes, discounts, modifiers, returns)."""
        # _random(22) inlined: the most frequent draw of all (several per line item)
        return self._rng.getrandbits(176).to_bytes(22, "little").translate(_BASE62_TABLE).decode("ascii")

    def tender(self) -> str:
        return self._random(29)

    def refund(self, payment_id: str) -> str:
        return f"{payment_id}_{self._random(43)}"

    def customer(self) -> str:
        return self._draw(CROCKFORD32, 26)

    def team_member(self) -> str:
        return "TM" + self._draw(BASE62, 14)

    def version_token(self) -> str:
        return self._random(45)
