"""Exact order arithmetic in integer minor units, the way the demo merchant computes it.

Everything here works on ``int`` amounts in the currency's smallest unit (cents, pence, yen);
no float ever touches money. Percentages are Square's decimal strings (``"8.875"``), held as
integer *milli-percent* (``8875``) so a rate is ``milli / 100_000``.

Rounding rule (as Square rounds each applied tax and discount per line): a computed share is
rounded to the nearest minor unit, **halves rounded up** (away from zero for the non-negative
amounts used here): ``half_up(n, d) = floor(n / d + 1/2)``.

* percentage discount on a line: ``half_up(gross * pct)``;
* additive tax on a line: ``half_up((gross - discount) * rate)``;
* inclusive tax taken out of a line: ``half_up((gross - discount) * rate / (1 + rate))``;
* an order-level amount (a fixed ``$2 off`` or an order-wide percentage, computed once on the
  eligible subtotal) is *allocated* across the eligible lines in proportion to their gross:
  each line gets ``floor(total * gross_i / sum(gross))`` and the remainder (fewer minor units
  than there are lines) goes to the line with the largest gross (the first one on a tie), so
  the parts always sum to the total exactly;
* a return of ``r`` of a line's ``q`` units, after ``p`` units were already returned, gets
  ``half_up(amount * (p + r) / q) - half_up(amount * p / q)`` of each of the line's amounts
  (cumulative proration): the returns of a line never sum to more than the line, and returning
  every unit gives back exactly the line's amounts.
"""

from __future__ import annotations

from decimal import Decimal

PERCENT_SCALE = 100_000  # milli-percent per unit (100 % = 100_000)


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves up (``denominator > 0``)."""
    return (2 * numerator + denominator) // (2 * denominator)


def milli_percent(percentage: str) -> int:
    """``"8.875"`` -> ``8875``; refuses percentages with more than three decimals."""
    scaled = Decimal(percentage) * 1000
    if scaled != scaled.to_integral_value():
        raise ValueError(f"percentage {percentage!r} has more than three decimals")
    return int(scaled)


def percent_of(amount: int, milli: int) -> int:
    """``amount * rate``, rounded half up (a percentage discount or an additive tax)."""
    return half_up(amount * milli, PERCENT_SCALE)


def inclusive_tax(amount: int, milli: int) -> int:
    """The tax inside a tax-inclusive ``amount``: ``amount * rate / (1 + rate)``, rounded half up."""
    return half_up(amount * milli, PERCENT_SCALE + milli)


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights``; the remainder goes to the largest weight."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("cannot allocate over zero weights")
    parts = [total * weight // whole for weight in weights]
    largest = max(range(len(weights)), key=lambda index: (weights[index], -index))
    parts[largest] += total - sum(parts)
    return parts


def prorate(amount: int, before: int, returned: int, quantity: int) -> int:
    """The share of ``amount`` (for ``quantity`` units) that ``returned`` more units carry when
    ``before`` units were already returned (cumulative proration, see the module docstring)."""
    return half_up(amount * (before + returned), quantity) - half_up(amount * before, quantity)
