"""Structured filters as sqlglot conditions: values become literal nodes, never SQL text."""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from square_bi.semantic.errors import SemanticQueryError
from square_bi.semantic.query import Filter, FilterValue

__all__ = ["condition", "date_literal", "literal"]


def date_literal(day: dt.date) -> exp.Expr:
    """``CAST('2024-03-01' AS DATE)``."""
    return exp.cast(exp.Literal.string(day.isoformat()), exp.DataType.Type.DATE)


def literal(value: FilterValue, *, is_time: bool, dimension: str) -> exp.Expr:
    """A value as a literal node; a time dimension's value must be an ISO date."""
    if is_time:
        if isinstance(value, dt.date):
            return date_literal(value)
        try:
            return date_literal(dt.date.fromisoformat(str(value)))
        except ValueError as error:
            raise SemanticQueryError(f"Filter on {dimension!r} needs dates as YYYY-MM-DD, got {value!r}.") from error
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, dt.date):
        return exp.Literal.string(value.isoformat())
    return exp.Literal.string(value)


def condition(column: exp.Expr, item: Filter, *, is_time: bool) -> exp.Expr:
    """The filter as a condition on ``column`` (the dimension's expression at its grain)."""

    def lit(value: FilterValue) -> exp.Expr:
        return literal(value, is_time=is_time, dimension=item.dimension)

    op = item.op
    this = column.copy()
    if op == "is_null":
        return exp.Is(this=this, expression=exp.Null())
    if op == "is_not_null":
        return exp.not_(exp.Is(this=this, expression=exp.Null()))
    values = item.values or []
    if op in ("in", "not_in"):
        found = exp.In(this=this, expressions=[lit(v) for v in values])
        return exp.not_(found) if op == "not_in" else found
    if op == "between":
        return exp.Between(this=this, low=lit(values[0]), high=lit(values[1]))
    assert item.value is not None
    if op == "like":
        if not isinstance(item.value, str):
            raise SemanticQueryError(f"Filter 'like' on {item.dimension!r} needs a text pattern such as 'Latte%'.")
        return exp.Like(this=this, expression=exp.Literal.string(item.value))
    comparisons: dict[str, type[exp.Binary]] = {
        "=": exp.EQ,
        "!=": exp.NEQ,
        ">": exp.GT,
        ">=": exp.GTE,
        "<": exp.LT,
        "<=": exp.LTE,
    }
    return comparisons[op](this=this, expression=lit(item.value))
