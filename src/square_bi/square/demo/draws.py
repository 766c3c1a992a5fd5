"""Weighted random draws without ``random.choices``' overhead.

The generator makes millions of single weighted draws (an hour, a basket size, a card brand...).
``random.choices(population, cum_weights=...)[0]`` spends most of its time checking arguments and
building a one-element list; :func:`pick` makes exactly the same draw (one ``rng.random()``, the
same bisection), so switching between the two never changes the generated data.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, population: Sequence[T], cum_weights: Sequence[float]) -> T:
    """``rng.choices(population, cum_weights=cum_weights)[0]``, faster."""
    return population[bisect_right(cum_weights, rng.random() * cum_weights[-1], 0, len(population) - 1)]


def below(rng: random.Random, n: int) -> int:
    """``rng.randrange(n)`` for ``n >= 1``, faster: the same bits drawn the same way (Python's
    ``_randbelow``), without ``randrange``'s argument handling."""
    bits = n.bit_length()
    value = rng.getrandbits(bits)
    while value >= n:
        value = rng.getrandbits(bits)
    return value
