"""The request: which metrics, grouped by what, filtered how, over which dates, in which order."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["Filter", "FilterOp", "FilterValue", "MetricQuery"]

FilterOp = Literal["=", "!=", ">", ">=", "<", "<=", "in", "not_in", "like", "between", "is_null", "is_not_null"]
FilterValue = str | int | float | bool | dt.date
_LIST_OPS = ("in", "not_in", "between")
_NO_VALUE_OPS = ("is_null", "is_not_null")


class Filter(BaseModel):
    """``{dimension, op, value | values}``: a row filter on a dimension, applied before aggregating.

    ``values`` for ``in`` / ``not_in`` (one or more) and ``between`` (exactly two, inclusive);
    nothing for ``is_null`` / ``is_not_null``; ``value`` for the others. Values are bound as SQL
    literals, never pasted as text; the dimension name is checked against the semantic layer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dimension: str
    """A group-by name: ``location__name``, ``order__source``, ``metric_time__month``, ..."""
    op: FilterOp = "="
    value: FilterValue | None = None
    values: list[FilterValue] | None = None

    @model_validator(mode="after")
    def _values_fit_the_op(self) -> Filter:
        if self.op in _NO_VALUE_OPS:
            if self.value is not None or self.values:
                raise ValueError(f"op {self.op!r} takes no value")
        elif self.op in _LIST_OPS:
            values = self.values if self.values is not None else ([self.value] if self.value is not None else [])
            if self.op == "between" and len(values) != 2:
                raise ValueError("op 'between' needs values: [low, high]")
            if not values:
                raise ValueError(f"op {self.op!r} needs values: [...]")
            if self.value is not None:
                object.__setattr__(self, "values", values)
                object.__setattr__(self, "value", None)
        elif self.value is None:
            raise ValueError(f"op {self.op!r} needs a value (use is_null to match missing values)")
        return self


class MetricQuery(BaseModel):
    """A metric query in semantic names only; nothing here is ever pasted into SQL.

    List fields also accept a JSON array string (``'["gross_sales"]'``) or a comma-separated
    string, as language models often send them that way; ``where`` also accepts a JSON string.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics: list[str] = Field(min_length=1)
    """Metric names, e.g. ``["gross_sales", "order_count"]``."""
    group_by: list[str] = Field(default_factory=list)
    """Dimension names: ``metric_time__week``, ``location__name``, ``item__category``, ..."""
    order_by: list[str] = Field(default_factory=list)
    """Selected metric or group-by names; prefix ``-`` for descending (``-gross_sales``)."""
    limit: int | None = Field(default=None, ge=1)
    """At most this many rows."""
    where: list[Filter] = Field(default_factory=list)
    """Row filters, all of which must hold (AND)."""
    start: dt.date | None = None
    """First business date to include (inclusive)."""
    end: dt.date | None = None
    """Last business date to include (inclusive)."""

    @field_validator("metrics", "group_by", "order_by", mode="before")
    @classmethod
    def _accept_list_as_string(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"not a JSON list of names: {error}") from error
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("where", mode="before")
    @classmethod
    def _accept_filters_as_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"not a JSON list of filters: {error}") from error
        if isinstance(value, dict):
            return [value]
        return value

    @model_validator(mode="after")
    def _start_not_after_end(self) -> MetricQuery:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self
