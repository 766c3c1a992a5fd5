"""Money: stored as BIGINT minor units of its currency, answered as exact DECIMAL major units.

Scaling happens in two steps, so that each row can be in its own currency:

1. In SQL, a money aggregate stays in whole minor units: ``CAST(ROUND(SUM(x)) AS HUGEINT)`` in
   DuckDB, ``CAST(SUM(x) AS DECIMAL(38, 0))`` elsewhere (:func:`to_minor_units`; an average is
   rounded to a whole minor unit). The compiled query also returns each group's currency (and
   whether it holds one), so no second query is needed.
2. In Python, :func:`to_major_units` moves the decimal point by the row's currency's digits:
   ``18549`` cents -> ``Decimal("185.49")``, ``18549`` yen -> ``Decimal("18549")``, exactly, with
   the currency's own number of places (a DuckDB DECIMAL column has one scale for all its rows,
   so SQL alone could not give USD 2 places and JPY 0 in the same column).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlglot import exp

__all__ = [
    "MINOR_UNITS",
    "decimal_type",
    "is_minor_units",
    "minor_unit_digits",
    "portable_minor_units",
    "to_major_units",
    "to_minor_units",
]

DEFAULT_MINOR_UNIT_DIGITS = 2
DECIMAL_PRECISION = 38

# ISO 4217 currencies whose minor unit is not 1/100 (Square amounts are in the smallest unit).
_ZERO_DIGITS = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DIGITS = frozenset(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"))


def minor_unit_digits(currency: str | None) -> int:
    """Decimal places of ``currency``'s minor unit: 2 for USD (cents), 0 for JPY, 3 for KWD."""
    code = (currency or "").upper()
    if code in _ZERO_DIGITS:
        return 0
    if code in _THREE_DIGITS:
        return 3
    return DEFAULT_MINOR_UNIT_DIGITS


def decimal_type(scale: int, precision: int = DECIMAL_PRECISION) -> exp.DataType:
    """``DECIMAL(precision, scale)`` as a tree."""
    return exp.DataType(
        this=exp.DataType.Type.DECIMAL,
        expressions=[
            exp.DataTypeParam(this=exp.Literal.number(precision)),
            exp.DataTypeParam(this=exp.Literal.number(scale)),
        ],
    )


MINOR_UNITS = "square_bi_minor_units"
"""``meta`` key marking the cast :func:`to_minor_units` makes (rewritten per dialect)."""


def to_minor_units(aggregate: exp.Expr) -> exp.Expr:
    """``CAST(ROUND(aggregate) AS HUGEINT)``: an aggregate of minor units as an exact whole number.

    Sums, minimums and maximums of BIGINT are whole already (``ROUND`` leaves them so); an average
    (DOUBLE) is rounded to the nearest minor unit, half away from zero, as the currency itself
    would. DuckDB hands a HUGEINT to Python as an ``int``, far cheaper to fetch than a DECIMAL's
    ``Decimal``; other dialects get the portable ``CAST(aggregate AS DECIMAL(38, 0))``, which
    rounds the same way (:func:`portable_minor_units`, applied by
    :func:`square_bi.semantic.sql.for_dialect`).
    """
    cast = exp.cast(exp.Round(this=aggregate), exp.DataType.Type.INT128)
    cast.meta[MINOR_UNITS] = True
    return cast


def is_minor_units(node: exp.Expr) -> bool:
    return isinstance(node, exp.Cast) and bool(node.meta.get(MINOR_UNITS))


def portable_minor_units(cast: exp.Expr) -> exp.Expr:
    """A :func:`to_minor_units` cast as ``CAST(aggregate AS DECIMAL(38, 0))`` (any dialect)."""
    return exp.cast(cast.this.this.copy(), decimal_type(0))


def to_major_units(minor: Any, currency: str | None) -> Decimal | None:
    """Whole minor units of ``currency`` as exact major units with the currency's places.

    ``to_major_units(18549, "USD") == Decimal("185.49")``, ``to_major_units(18549, "JPY") ==
    Decimal("18549")``, ``to_major_units(0, "USD")`` is ``Decimal("0.00")``; ``None`` stays
    ``None``. No arithmetic context is involved, so no digit is ever rounded away.
    """
    if minor is None:
        return None
    whole = Decimal(minor)
    if whole != whole.to_integral_value():
        raise ValueError(f"{minor!r} is not a whole number of minor units")
    sign, digits, _ = Decimal(int(whole)).as_tuple()
    return Decimal((sign, digits, -minor_unit_digits(currency)))
