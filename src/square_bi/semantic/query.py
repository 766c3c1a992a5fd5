"""The request: which metrics, grouped by what, in which order, how many rows."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["MetricQuery"]


class MetricQuery(BaseModel):
    """A metric query in semantic names only; nothing here is ever pasted into SQL.

    List fields also accept a JSON array string (``'["gross_sales"]'``) or a comma-separated
    string, as language models often send them that way.
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
