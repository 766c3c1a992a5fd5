"""Compact storage for the demo's orders, payments and refunds.

A merchant with a million line items has over half a million orders and as many payments; held as
Python dicts they take about 7 KB per order (gigabytes in all). An :class:`ObjectStore` keeps each
object as zlib-compressed ``orjson`` bytes instead (roughly a third of the JSON, an eighth of the
dicts) and decodes it on access, so it reads like the list of dicts it replaces (``len``, ``[i]``,
slices, iteration: each access returns a *fresh* dict, so mutating it changes nothing; write it back
with :meth:`ObjectStore.put`). Beside the bytes it keeps per row only what the search endpoints
filter and sort on, in flat columns (timestamps as ``array('q')`` of epoch microseconds, short
labels as shared strings), so the indexes never decode an object they do not serve.

Rows are numbered in insertion order; :meth:`ObjectStore.put` replaces an object with the same
``id`` in place (live data) and appends new ones. :meth:`ObjectStore.sort` reorders the rows once,
after generation, by ``(created_at, id)``.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import orjson

from .timefmt import parse_rfc3339_us

JSONObject = dict[str, Any]

NO_TIME = -(2**63)
"""Column value for an absent timestamp (an open order's ``closed_at``)."""

COMPRESSION_LEVEL = 1
"""zlib's fastest level: storing is on the path to serving, and level 1 already shrinks an order's
JSON about threefold (its random ids do not compress at any level)."""


class ObjectStore(Sequence[JSONObject]):
    """JSON objects with an ``id``, compressed, in rows (see the module docstring)."""

    def __init__(self, objects: Iterable[JSONObject] = ()) -> None:
        self._blobs: list[bytes] = []
        self.ids: list[str] = []
        """The id of each row (read-only)."""
        self._row_of: dict[str, int] = {}
        self.created_us = array("q")
        """``created_at`` of each row, epoch microseconds (read-only)."""
        self.updated_us = array("q")
        """``updated_at`` of each row, epoch microseconds (read-only)."""
        self.location_ids: list[str | None] = []
        """``location_id`` of each row (read-only)."""
        self._labels: dict[str, str] = {}
        for obj in objects:
            self.put(obj)

    def _label(self, value: Any) -> Any:
        """One shared string per distinct short label (location ids, states) instead of one per row."""
        if not isinstance(value, str):
            return value
        return self._labels.setdefault(value, sys.intern(value))

    def put(self, obj: JSONObject) -> int:
        """Store ``obj`` (a new row, or in place of the object with its id); returns its row."""
        blob = zlib.compress(orjson.dumps(obj), COMPRESSION_LEVEL)
        row = self._row_of.get(obj["id"])
        if row is None:
            row = len(self.ids)
            object_id = obj["id"]
            self._row_of[object_id] = row
            self.ids.append(object_id)
            self._blobs.append(blob)
            self._grow()
        else:
            self._blobs[row] = blob
        self._columns(row, obj)
        return row

    def append(self, obj: JSONObject) -> int:
        """Same as :meth:`put` (lists of objects were appended to; the store upserts by id)."""
        return self.put(obj)

    def _grow(self) -> None:
        """Make room for one more row in every column."""
        self.created_us.append(0)
        self.updated_us.append(0)
        self.location_ids.append(None)

    def _columns(self, row: int, obj: JSONObject) -> None:
        """Fill the row's columns from ``obj``."""
        self.created_us[row] = parse_rfc3339_us(obj["created_at"])
        self.updated_us[row] = parse_rfc3339_us(obj["updated_at"])
        self.location_ids[row] = self._label(obj.get("location_id"))

    def json(self, row: int) -> bytes:
        """The row's object as compact JSON bytes (what the endpoints send)."""
        return zlib.decompress(self._blobs[row])

    def object(self, row: int) -> JSONObject:
        """The row's object, decoded (a fresh dict)."""
        result: JSONObject = orjson.loads(zlib.decompress(self._blobs[row]))
        return result

    def row(self, object_id: str) -> int | None:
        """The row holding ``object_id``, if any."""
        return self._row_of.get(object_id)

    def get(self, object_id: str) -> JSONObject | None:
        """The object with ``object_id`` (a fresh dict), or None."""
        row = self._row_of.get(object_id)
        return None if row is None else self.object(row)

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> JSONObject: ...

    @overload
    def __getitem__(self, index: slice) -> list[JSONObject]: ...

    def __getitem__(self, index: int | slice) -> JSONObject | list[JSONObject]:
        if isinstance(index, slice):
            return [self.object(row) for row in range(len(self.ids))[index]]
        return self.object(range(len(self.ids))[index])

    def __iter__(self) -> Iterator[JSONObject]:
        for row in range(len(self.ids)):
            yield self.object(row)

    def sort(self) -> None:
        """Reorder the rows by ``(created_at, id)`` (once, after generation)."""
        created, ids = self.created_us, self.ids
        order = sorted(range(len(ids)), key=lambda row: (created[row], ids[row]))
        self._permute(order)
        self._row_of = {object_id: row for row, object_id in enumerate(self.ids)}

    def _permute(self, order: Sequence[int]) -> None:
        """Put old row ``order[i]`` at row ``i`` in every column."""
        self._blobs = [self._blobs[row] for row in order]
        self.ids = [self.ids[row] for row in order]
        self.created_us = array("q", (self.created_us[row] for row in order))
        self.updated_us = array("q", (self.updated_us[row] for row in order))
        self.location_ids = [self.location_ids[row] for row in order]


class OrderStore(ObjectStore):
    """Orders, with the columns ``orders/search`` filters on (``closed_at``, state, source name,
    the customer ids of the order and its tenders, ``version``) and the two the live merchant
    picks returnable sales by (is it a return order, does it sell a catalog item)."""

    def __init__(self, objects: Iterable[JSONObject] = ()) -> None:
        self.closed_us = array("q")
        self.states: list[str | None] = []
        self.sources: list[str | None] = []
        self.customers: list[frozenset[str] | None] = []
        self.versions: list[Any] = []
        self.is_return: list[bool] = []
        self.sells_items: list[bool] = []
        super().__init__(objects)

    def _grow(self) -> None:
        super()._grow()
        self.closed_us.append(NO_TIME)
        self.states.append(None)
        self.sources.append(None)
        self.customers.append(None)
        self.versions.append(None)
        self.is_return.append(False)
        self.sells_items.append(False)

    def _columns(self, row: int, obj: JSONObject) -> None:
        super()._columns(row, obj)
        closed_at = obj.get("closed_at")
        self.closed_us[row] = NO_TIME if not closed_at else parse_rfc3339_us(closed_at)
        self.states[row] = self._label(obj.get("state"))
        self.sources[row] = self._label((obj.get("source") or {}).get("name"))
        customers = {obj.get("customer_id"), *(tender.get("customer_id") for tender in obj.get("tenders") or ())}
        customers.discard(None)
        self.customers[row] = frozenset(customers) if customers else None
        self.versions[row] = obj.get("version")
        self.is_return[row] = bool(obj.get("returns"))
        self.sells_items[row] = any(line.get("item_type") == "ITEM" for line in obj.get("line_items") or ())

    def _permute(self, order: Sequence[int]) -> None:
        super()._permute(order)
        self.closed_us = array("q", (self.closed_us[row] for row in order))
        self.states = [self.states[row] for row in order]
        self.sources = [self.sources[row] for row in order]
        self.customers = [self.customers[row] for row in order]
        self.versions = [self.versions[row] for row in order]
        self.is_return = [self.is_return[row] for row in order]
        self.sells_items = [self.sells_items[row] for row in order]
