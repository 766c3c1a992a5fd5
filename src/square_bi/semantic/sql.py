"""Small builders of sqlglot trees from layer objects; names go in as identifiers, never as text."""

from __future__ import annotations

from sqlglot import exp

from square_bi.semantic.errors import UnsupportedQueryError
from square_bi.semantic.model import AggregationType, Measure, SemanticModel, TimeGrain, Unit
from square_bi.semantic.money import is_minor_units, portable_minor_units, to_minor_units

__all__ = [
    "CURRENCY_HASH",
    "aggregate",
    "alias_id",
    "aliased",
    "currency_hash",
    "for_dialect",
    "qualify",
    "table",
    "truncate_to_grain",
]


def alias_id(name: str) -> exp.Identifier:
    """A table alias the compiler invents, always quoted: model and entity names such as
    ``order`` are reserved words in some dialects."""
    return exp.to_identifier(name, quoted=True)


def aliased(expression: exp.Expr, name: str) -> exp.Expr:
    """``expression AS name``, taking ``expression`` as it is: the compiler builds each tree fresh
    (or copies it once, as :func:`qualify` does), so a copy per alias (sqlglot's default) would
    only spend compile time."""
    return exp.alias_(expression, name, copy=False)


def table(model: SemanticModel, alias: str) -> exp.Table:
    """``<schema>.<table> AS "<alias>"``."""
    return exp.Table(
        this=exp.to_identifier(model.table),
        db=exp.to_identifier(model.schema),
        alias=exp.TableAlias(this=alias_id(alias)),
    )


def qualify(expression: exp.Expr, alias: str) -> exp.Expr:
    """A copy of a YAML ``expr`` tree with every unqualified column read from ``alias``."""
    tree = expression.copy()
    for column in tree.find_all(exp.Column):
        if not column.table:
            column.set("table", alias_id(alias))
    return tree


def truncate_to_grain(expression: exp.Expr, grain: TimeGrain | None, declared: TimeGrain | None) -> exp.Expr:
    """``CAST(DATE_TRUNC('<GRAIN>', x) AS DATE)``; ``x`` itself at its declared grain.

    DuckDB's (and sqlglot's default) week starts on Monday, as ISO 8601 and ``dim_date`` do.
    """
    if grain is None or grain == declared:
        return expression
    truncated = exp.DateTrunc(this=expression, unit=exp.var(grain.value.upper()))
    return exp.cast(truncated, exp.DataType.Type.DATE)


def aggregate(measure: Measure, alias: str) -> exp.Expr:
    """The measure's aggregate over ``alias``; money as whole minor units (:func:`to_minor_units`).

    Money is scaled to major units per row, by the row's currency, after the query ran
    (:mod:`square_bi.semantic.money`).
    """
    value = qualify(measure.expr, alias)
    agg = measure.agg
    result: exp.Expr
    if agg is AggregationType.SUM:
        result = exp.Sum(this=value)
    elif agg is AggregationType.COUNT:
        result = exp.Count(this=value)
    elif agg is AggregationType.COUNT_DISTINCT:
        result = exp.Count(this=exp.Distinct(expressions=[value]))
    elif agg is AggregationType.MIN:
        result = exp.Min(this=value)
    elif agg is AggregationType.MAX:
        result = exp.Max(this=value)
    elif agg is AggregationType.AVERAGE:
        result = exp.Avg(this=value)
    elif agg is AggregationType.SUM_BOOLEAN:
        as_int = exp.Case(ifs=[exp.If(this=value, true=exp.Literal.number(1))], default=exp.Literal.number(0))
        result = exp.Sum(this=as_int)
    else:
        raise UnsupportedQueryError(f"Aggregation {agg.value!r} of measure {measure.name!r} is not supported yet.")
    return to_minor_units(result) if measure.unit is Unit.MONEY else result


CURRENCY_HASH = "square_bi_currency_hash"
"""``meta`` key marking our own ``HASH(x)`` of a currency code (never a YAML expr's)."""


_HASH_DIALECTS = frozenset(("duckdb", "snowflake", "databricks", "spark"))


def currency_hash(code: exp.Expr) -> exp.Expr:
    """``CASE WHEN x IS NOT NULL THEN HASH(x) END``: a row without a currency adds no code."""
    hashed = exp.Anonymous(this="HASH", expressions=[code.copy()])
    hashed.meta[CURRENCY_HASH] = True
    present = exp.Not(this=exp.Is(this=code.copy(), expression=exp.Null()))
    return exp.Case(ifs=[exp.If(this=present, true=hashed)])


def _is_currency_hash(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and bool(node.meta.get(CURRENCY_HASH))


def for_dialect(expression: exp.Expr, dialect: str) -> exp.Expr:
    """``expression`` with our currency ``HASH`` and minor-unit casts written the way ``dialect``
    can run them.

    ``HASH(x)`` in DuckDB, Snowflake and Databricks; BigQuery's ``FARM_FINGERPRINT(x)``; elsewhere
    ``x`` itself (``MIN`` and ``MAX`` of the text: slower, equally exact). Money in minor units is
    DuckDB's ``CAST(ROUND(x) AS HUGEINT)``, ``CAST(x AS DECIMAL(38, 0))`` elsewhere
    (:func:`~square_bi.semantic.money.to_minor_units`). DuckDB's tree is returned as it is.
    """
    if dialect == "duckdb":
        return expression
    swap_hashes = dialect not in _HASH_DIALECTS and any(
        _is_currency_hash(n) for n in expression.find_all(exp.Anonymous)
    )
    if not swap_hashes and not any(is_minor_units(n) for n in expression.find_all(exp.Cast)):
        return expression

    def swap(node: exp.Expr) -> exp.Expr:
        if is_minor_units(node):
            return portable_minor_units(node)
        if not swap_hashes or not _is_currency_hash(node):
            return node
        if dialect == "bigquery":
            return exp.FarmFingerprint(expressions=[node.expressions[0].copy()])
        return node.expressions[0].copy()

    return expression.transform(swap)
