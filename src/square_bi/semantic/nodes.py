"""SQL of one plan node: a semantic model's rows, joined and filtered, aggregated at the query grain.

Three kinds (:class:`~square_bi.semantic.plan.NodeKey`):

- plain: ``SELECT keys, aggregates FROM fact LEFT JOIN dims WHERE filters GROUP BY keys``;
- offset (period over period): the same, with metric_time keyed ``offset`` LATER, so each row of
  period P holds the value of the period ``offset`` before P;
- cumulative: daily aggregates, summed over a window of days of the time spine (a trailing
  window, month/quarter/... to date, or all time), then one day per reported period: the LAST day
  of the period that has data (``period_agg: last``; ``first`` also supported; by day, each period
  is its one day). Without an ``end``, days after the last day with data are not reported (no
  future running totals).
"""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from square_bi.semantic.filters import condition, date_literal
from square_bi.semantic.model import AggregationType, Offset, TimeGrain, TimeSpine
from square_bi.semantic.plan import Node, PlannedDimension
from square_bi.semantic.sql import aggregate, alias_id, aliased, currency_hash, qualify, table, truncate_to_grain

__all__ = ["currency_aggregates", "node_select", "shift_date"]

DAY_COLUMN = "__day"
RANK_COLUMN = "__period_rank"
LAST_DAY_COLUMN = "__last_day"


def node_select(
    node: Node,
    spine: TimeSpine | None,
    start: dt.date | None,
    end: dt.date | None,
    *,
    exact: bool = False,
    proven: str | None = None,
) -> exp.Select:
    """``exact``: currency columns from the codes themselves; ``proven``: the one currency of every
    row of the node's model, as a constant (see :func:`currency_aggregates`)."""
    if node.key.cumulative is not None:
        return _cumulative(node, spine, start, end, exact=exact, proven=proven)
    eager = _aggregate_before_joins(node, start, end, shift=node.key.offset, exact=exact, proven=proven)
    if eager is not None:
        return eager
    return _aggregate(node, node.dimensions, start, end, shift=node.key.offset, exact=exact, proven=proven)


_REAGGREGATE: dict[AggregationType, type[exp.Func]] = {
    AggregationType.SUM: exp.Sum,
    AggregationType.COUNT: exp.Sum,
    AggregationType.SUM_BOOLEAN: exp.Sum,
    AggregationType.MIN: exp.Min,
    AggregationType.MAX: exp.Max,
}


def _aggregate_before_joins(
    node: Node, start: dt.date | None, end: dt.date | None, *, shift: Offset | None, exact: bool, proven: str | None
) -> exp.Select | None:
    """Aggregate the fact first, by its own keys and its foreign keys, then join the dimension
    tables to that (far smaller) result and aggregate again by the requested keys, as a person
    writes it: every join is many-to-one, so each fact row meets at most one dimension row and
    the partial aggregates add up exactly. Only for measures whose partials combine (sum, count,
    min, max: not count_distinct or average) and only when every joined model is a dimension
    table (no measures: small), as grouping by a fact's key (an order id) would not shrink much.
    """
    if not node.joins or any(join.model.measures for join in node.joins):
        return None
    if any(leaf.measure.agg not in _REAGGREGATE for leaf in node.leaves):
        return None
    source = node.source_alias
    local = [d for d in node.dimensions if d.table_alias == source]
    first_hops = [join for join in node.joins if join.left_alias == source]
    foreign = [(f"__{join.alias}__key", qualify(join.left.expr, source)) for join in first_hops]
    inner_keys = [(d.name, _key(d, shift)) for d in local] + foreign
    inner = exp.Select().from_(table(node.source, source), copy=False)
    inner.select(*(aliased(key, name) for name, key in inner_keys), copy=False)
    inner.select(*(aliased(aggregate(leaf.measure, source), leaf.column) for leaf in node.leaves), copy=False)
    if node.currency is not None:
        column = qualify(node.currency.expr, source)
        inner.select(*currency_aggregates(column, node.currency_columns, exact=exact, proven=proven), copy=False)
    local_filters = [f for f in node.filters if f.dimension.table_alias == source]
    joined_filters = [f for f in node.filters if f.dimension.table_alias != source]
    conditions = [
        condition(_key(f.dimension, None), f.filter, is_time=f.dimension.grain is not None) for f in local_filters
    ]
    conditions += _date_range(node, start, end, shift)
    if conditions:
        inner.where(exp.and_(*conditions), copy=False)
    inner.group_by(*(key.copy() for _, key in inner_keys), copy=False)

    def read(column: str) -> exp.Column:
        return exp.column(exp.to_identifier(column), table=alias_id(source))

    outer = exp.Select().from_(inner.subquery(alias_id(source), copy=False), copy=False)
    keys_of = {join.alias: name for join, (name, _) in zip(first_hops, foreign, strict=True)}
    for join in node.joins:
        left = read(keys_of[join.alias]) if join.alias in keys_of else qualify(join.left.expr, join.left_alias)
        on = exp.EQ(this=left, expression=qualify(join.right.expr, join.alias))
        outer.append("joins", exp.Join(this=table(join.model, join.alias), side="LEFT", on=on))
    keys = [read(d.name) if d.table_alias == source else _key(d, shift) for d in node.dimensions]
    outer.select(*(aliased(key, d.name) for key, d in zip(keys, node.dimensions, strict=True)), copy=False)
    outer.select(
        *(aliased(_REAGGREGATE[leaf.measure.agg](this=read(leaf.column)), leaf.column) for leaf in node.leaves),
        copy=False,
    )
    if node.currency is not None:
        code, low, high = node.currency_columns
        first = exp.Min(this=read(code)) if exact else exp.AnyValue(this=read(code))
        outer.select(
            aliased(first, code),
            aliased(exp.Min(this=read(low)), low),
            aliased(exp.Max(this=read(high)), high),
            copy=False,
        )
    if joined_filters:
        outer.where(
            exp.and_(
                *(
                    condition(_key(f.dimension, None), f.filter, is_time=f.dimension.grain is not None)
                    for f in joined_filters
                )
            ),
            copy=False,
        )
    if keys:
        outer.group_by(*(key.copy() for key in keys), copy=False)
    return outer


def currency_aggregates(
    code: exp.Expr, columns: tuple[str, str, str], *, exact: bool = False, proven: str | None = None
) -> list[exp.Expr]:
    """``ANY_VALUE(code)``, ``MIN`` and ``MAX`` of its hash: a group holds one currency when they agree.

    Hashes are numbers, far cheaper to aggregate than text (a text ``MIN`` / ``MAX`` pair about
    doubles a one-table scan in DuckDB). ``exact``: ``MIN`` and ``MAX`` of the codes themselves.
    ``proven``: the one currency the warehouse proves every row holds
    (:mod:`square_bi.semantic.proven_currency`): all three are that code, a constant, which
    reads as one currency both ways.
    """
    name, low, high = columns
    if proven is not None:
        return [aliased(exp.Literal.string(proven), column) for column in columns]
    first: exp.Expr
    if exact:
        first, lowest, highest = exp.Min(this=code.copy()), exp.Min(this=code.copy()), exp.Max(this=code.copy())
    else:
        first = exp.AnyValue(this=code.copy())
        lowest, highest = exp.Min(this=currency_hash(code)), exp.Max(this=currency_hash(code))
    return [aliased(first, name), aliased(lowest, low), aliased(highest, high)]


def _aggregate(
    node: Node,
    dimensions: tuple[PlannedDimension, ...],
    start: dt.date | None,
    end: dt.date | None,
    *,
    shift: Offset | None = None,
    day_key: bool = False,
    exact: bool = False,
    proven: str | None = None,
) -> exp.Select:
    keys = [(d.name, _key(d, shift)) for d in dimensions]
    if day_key:
        keys.insert(0, (DAY_COLUMN, qualify(node.time_dimension.expr, node.source_alias)))
    select = exp.Select().from_(table(node.source, node.source_alias), copy=False)
    for join in node.joins:
        on = exp.EQ(this=qualify(join.left.expr, join.left_alias), expression=qualify(join.right.expr, join.alias))
        select.append("joins", exp.Join(this=table(join.model, join.alias), side="LEFT", on=on))
    select.select(*(aliased(key, name) for name, key in keys), copy=False)
    select.select(
        *(aliased(aggregate(leaf.measure, node.source_alias), leaf.column) for leaf in node.leaves), copy=False
    )
    currency = node.currency
    if currency is not None:
        column = qualify(currency.expr, node.source_alias)
        select.select(*currency_aggregates(column, node.currency_columns, exact=exact, proven=proven), copy=False)
    conditions = [
        condition(_key(f.dimension, None), f.filter, is_time=f.dimension.grain is not None) for f in node.filters
    ]
    conditions += _date_range(node, start, end, shift)
    if conditions:
        select.where(exp.and_(*conditions), copy=False)
    if keys:
        select.group_by(*(key.copy() for _, key in keys), copy=False)
    return select


def _key(dimension: PlannedDimension, shift: Offset | None) -> exp.Expr:
    column = qualify(dimension.dimension.expr, dimension.table_alias)
    if shift is not None and dimension.is_metric_time:
        shifted = exp.DateAdd(
            this=column, expression=exp.Literal.number(shift.count), unit=exp.var(shift.grain.value.upper())
        )
        return truncate_to_grain(exp.cast(shifted, exp.DataType.Type.DATE), dimension.grain, TimeGrain.DAY)
    return truncate_to_grain(column, dimension.grain, dimension.dimension.time_granularity)


def _date_range(node: Node, start: dt.date | None, end: dt.date | None, shift: Offset | None) -> list[exp.Expr]:
    """Rows whose business date (shifted by ``shift``) lies in [start, end]; sargable bounds."""
    column = qualify(node.time_dimension.expr, node.source_alias)
    found: list[exp.Expr] = []
    if start is not None:
        low = shift_date(start, shift, -1) if shift is not None else start
        found.append(exp.GTE(this=column, expression=date_literal(low)))
    if end is not None:
        high = shift_date(end, shift, -1) if shift is not None else end
        found.append(exp.LTE(this=column.copy(), expression=date_literal(high)))
    return found


def shift_date(day: dt.date, offset: Offset, sign: int) -> dt.date:
    """``day`` moved ``sign * offset``; months clamp to the month's last day (as SQL does)."""
    if offset.grain in (TimeGrain.DAY, TimeGrain.WEEK):
        days = offset.count * (7 if offset.grain is TimeGrain.WEEK else 1)
        return day + dt.timedelta(days=sign * days)
    months = offset.count * {TimeGrain.MONTH: 1, TimeGrain.QUARTER: 3, TimeGrain.YEAR: 12}[offset.grain]
    index = day.year * 12 + day.month - 1 + sign * months
    year, month = divmod(index, 12)
    first_of_next = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return dt.date(year, month + 1, min(day.day, (first_of_next - dt.timedelta(days=1)).day))


def _period_start(day: dt.date, grain: TimeGrain) -> dt.date:
    if grain is TimeGrain.DAY:
        return day
    if grain is TimeGrain.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if grain is TimeGrain.MONTH:
        return day.replace(day=1)
    if grain is TimeGrain.QUARTER:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, 1, 1)


def _cumulative(
    node: Node,
    spine: TimeSpine | None,
    start: dt.date | None,
    end: dt.date | None,
    *,
    exact: bool,
    proven: str | None,
) -> exp.Select:
    spec = node.key.cumulative
    assert spec is not None and spine is not None
    others = tuple(d for d in node.dimensions if not d.is_metric_time)
    periods = [d for d in node.dimensions if d.is_metric_time]
    lookback = start
    if start is not None and spec.grain_to_date is not None:
        lookback = _period_start(start, spec.grain_to_date)
    elif start is not None and spec.window is not None:
        lookback = shift_date(start, spec.window, -1) + dt.timedelta(days=1)
    elif start is not None:
        lookback = None  # all time: every earlier day counts
    daily_select = _aggregate(node, others, lookback, end, day_key=True, exact=exact, proven=proven)
    if end is None:  # the last day with data, from the same scan (no second aggregation)
        last = exp.Window(this=exp.Max(this=qualify(node.time_dimension.expr, node.source_alias)))
        daily_select = daily_select.select(aliased(last, LAST_DAY_COLUMN), copy=False)
    daily = daily_select.subquery(alias_id("daily"), copy=False)

    day = exp.column(exp.to_identifier(spine.column), table=alias_id("spine"))
    daily_day = exp.column(exp.to_identifier(DAY_COLUMN), table=alias_id("daily"))
    on: list[exp.Expr] = [exp.LTE(this=daily_day, expression=day.copy())]
    if spec.grain_to_date is not None:
        # the same period as the spine day, written as an equality: a hash join (with ``<=`` left
        # to check per pair) instead of a range join on two inequalities (about 70x slower in DuckDB)
        same_period = exp.EQ(
            this=truncate_to_grain(daily_day.copy(), spec.grain_to_date, TimeGrain.DAY),
            expression=truncate_to_grain(day.copy(), spec.grain_to_date, TimeGrain.DAY),
        )
        on.insert(0, same_period)
    elif spec.window is not None:
        back = exp.DateAdd(
            this=day.copy(),
            expression=exp.Literal.number(-spec.window.count),
            unit=exp.var(spec.window.grain.value.upper()),
        )
        on.append(exp.GT(this=daily_day.copy(), expression=exp.cast(back, exp.DataType.Type.DATE)))
    where: list[exp.Expr] = []
    if end is None:  # no running totals for days after the last day with data
        last_day = exp.column(exp.to_identifier(LAST_DAY_COLUMN), table=alias_id("daily"))
        where.append(exp.LTE(this=day.copy(), expression=last_day))
    if start is not None:
        where.append(exp.GTE(this=day.copy(), expression=date_literal(start)))
    if end is not None:
        where.append(exp.LTE(this=day.copy(), expression=date_literal(end)))

    other_columns = [exp.column(exp.to_identifier(d.name), table=alias_id("daily")) for d in others]
    period_keys = [truncate_to_grain(day.copy(), p.grain, TimeGrain.DAY) for p in periods]
    rank = exp.Window(
        this=exp.RowNumber(),
        partition_by=[*(k.copy() for k in period_keys), *(c.copy() for c in other_columns)] or None,
        order=exp.Order(expressions=[exp.Ordered(this=day.copy(), desc=spec.period_agg == "last")]),
    )
    summed = [
        aliased(exp.Sum(this=exp.column(exp.to_identifier(leaf.column), table=alias_id("daily"))), leaf.column)
        for leaf in node.leaves
    ]
    currency = []
    if node.currency is not None:
        code, low, high = (exp.column(exp.to_identifier(c), table=alias_id("daily")) for c in node.currency_columns)
        currency = [
            aliased(exp.Min(this=code) if exact else exp.AnyValue(this=code), code.name),
            aliased(exp.Min(this=low), low.name),
            aliased(exp.Max(this=high), high.name),
        ]
    inner = (
        exp.select(
            *(aliased(k, p.name) for k, p in zip(period_keys, periods, strict=True)),
            *(aliased(c, d.name) for c, d in zip(other_columns, others, strict=True)),
            *summed,
            *currency,
            copy=False,
        )
        .from_(
            exp.Table(
                this=exp.to_identifier(spine.table),
                db=exp.to_identifier(spine.schema),
                alias=exp.TableAlias(this=alias_id("spine")),
            ),
            copy=False,
        )
        .join(daily, on=exp.and_(*on), join_type="INNER", copy=False)
        .where(exp.and_(*where) if where else None, copy=False)
        .group_by(day.copy(), *(c.copy() for c in other_columns), copy=False)
    )
    if periods and all(p.grain is TimeGrain.DAY for p in periods):
        return inner  # each reported period is one day: nothing to pick
    inner.select(aliased(rank, RANK_COLUMN), copy=False)
    names = [d.name for d in node.dimensions] + [leaf.column for leaf in node.leaves]
    if node.currency is not None:
        names += list(node.currency_columns)
    return (
        exp.select(*(exp.column(exp.to_identifier(n)) for n in names), copy=False)
        .from_(inner.subquery(alias_id("cumulated"), copy=False), copy=False)
        .where(exp.EQ(this=exp.column(exp.to_identifier(RANK_COLUMN)), expression=exp.Literal.number(1)), copy=False)
    )
