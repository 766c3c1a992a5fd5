"""Compact storage for the demo's orders, payments and refunds.

A merchant with a million line items has over half a million orders and as many payments; held as
Python dicts they take about 7 KB per order (gigabytes in all). An :class:`ObjectStore` keeps them
as ``orjson`` bytes compressed with zstd :data:`BLOCK_ROWS` objects at a time (consecutive objects
share most of their keys and many values, so a block compresses to under a seventh of its JSON, and
one ``compress`` call per block costs a fraction of one per object) and decodes on access, so it
reads like the list of dicts it replaces (``len``, ``[i]``, slices, iteration: each access returns a
*fresh* dict, so mutating it changes nothing; write it back with :meth:`ObjectStore.put`). The last
few decompressed blocks are cached: the objects of one page of results are mostly neighbours.

Beside the bytes the store keeps per row only what the search endpoints filter and sort on, in flat
columns (timestamps as ``array('q')`` of epoch microseconds, short labels as shared strings), so the
indexes never decode an object they do not serve.

Rows are numbered in insertion order; :meth:`ObjectStore.put` replaces an object with the same
``id`` in place (live data) and appends new ones. :meth:`ObjectStore.sort` reorders the rows once,
after generation, by ``(updated_at, id)``: the order a sync pages through them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress
from operator import eq
from typing import Any, overload

import orjson
import pyarrow as pa

from .timefmt import parse_rfc3339_us

JSONObject = dict[str, Any]

NO_TIME = -(2**63)
"""Column value for an absent timestamp (an open order's ``closed_at``)."""

CODEC = pa.Codec("zstd", compression_level=1)
"""zstd's fastest level (through pyarrow, which the warehouse needs anyway): every byte a sync reads
is decompressed on the way out, and at start-up every block is compressed twice (stored, then
sorted). Against zlib level 1, on blocks of demo orders: 978 instead of 425 MB/s decompressing,
795 instead of 240 MB/s compressing, and 7.8 instead of 5.8 times smaller."""


def _compress(data: bytes) -> bytes:
    return CODEC.compress(data, asbytes=True)  # type: ignore[no-any-return]


def _decompress(data: bytes, size: int) -> bytes:
    """``data`` as compressed by :func:`_compress` from ``size`` bytes."""
    return CODEC.decompress(data, decompressed_size=size, asbytes=True)  # type: ignore[no-any-return]


BLOCK_ROWS = 32
"""Objects compressed together: reading one decompresses its block (about 100 KB of orders)."""

CACHED_BLOCKS = 64
"""Decompressed blocks kept (a few MB): enough for a page of any size, or one walk over every
location's objects in time order."""


def release_freed_memory() -> None:
    """Hand the memory freed so far back to the system, where the C library can (glibc's
    ``malloc_trim``; elsewhere nothing happens).

    For after generation: compressing the blocks, and again once sorted, leaves the heap full of
    freed holes between the blocks kept, and the C library returns only what is freed at its top.
    A demo merchant of 141k orders held 449 MB after start-up without this, 290 MB with it (353 MB
    with zlib instead of zstd, untrimmed)."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if trim is not None:
        trim(0)


def sort_by_stamp_then_id(stamps: Sequence[int], ids: Sequence[str]) -> list[int]:
    """The rows ordered by ``(stamps[row], ids[row])``: sorted by stamp alone (ints, no tuples: this
    runs over every order and payment at start-up), then each run of equal stamps by id."""
    rows = sorted(range(len(stamps)), key=stamps.__getitem__)
    sorted_stamps = array("q", map(stamps.__getitem__, rows))
    ties = compress(range(1, len(rows)), map(eq, sorted_stamps[1:], sorted_stamps))
    for run_start, run_end in _runs(ties):
        rows[run_start:run_end] = sorted(rows[run_start:run_end], key=ids.__getitem__)
    return rows


def _runs(ties: Iterable[int]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each run of equal neighbours, from the indexes equal to their predecessor."""
    start = end = -1
    for index in ties:
        if index != end:
            if end > start:
                yield start, end
            start = index - 1
        end = index + 1
    if end > start:
        yield start, end


class BlockedBytes:
    """Byte strings by row, appended in order and compressed :data:`BLOCK_ROWS` at a time.

    The newest rows wait uncompressed in the open block until it is full. A row replaced after it
    was compressed keeps its new bytes uncompressed beside the blocks (live changes, refunds of
    earlier payments: a small share of the rows). Safe to read from one thread while another writes
    (a live merchant's server thread, a test reading the data).
    """

    def __init__(self) -> None:
        self._blocks: list[bytes] = []
        self._sizes = array("q")  # per block: its size decompressed
        self._block = array("q")  # per row: its block, -1 while in the open block
        self._start = array("q")  # per row: where it starts in its decompressed block (open: index in _open)
        self._end = array("q")
        self._open: list[bytes] = []
        self._open_rows: list[int] = []
        self._replaced: dict[int, bytes] = {}
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()  # the rows' places (blocks, open block, replacements)
        self._cache_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._block)

    def append(self, data: bytes) -> None:
        """Add a row holding ``data``."""
        with self._lock:
            self._append(data)

    def _append(self, data: bytes) -> None:
        self._open_rows.append(len(self._block))
        self._open.append(data)
        self._start.append(len(self._open) - 1)
        self._end.append(0)
        self._block.append(-1)
        if len(self._open) == BLOCK_ROWS:
            self._flush()

    def replace(self, row: int, data: bytes) -> None:
        """Give ``row`` new bytes."""
        with self._lock:
            if self._block[row] < 0:
                self._open[self._start[row]] = data
            else:
                self._replaced[row] = data

    def flush(self) -> None:
        """Compress the open block (even if not full)."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if not self._open:
            return
        block, offset = len(self._blocks), 0
        for row, data in zip(self._open_rows, self._open, strict=True):
            self._block[row] = block
            self._start[row] = offset
            offset += len(data)
            self._end[row] = offset
        data = b"".join(self._open)
        self._blocks.append(_compress(data))
        self._sizes.append(len(data))
        self._open, self._open_rows = [], []

    def __getitem__(self, row: int) -> bytes:
        with self._lock:
            replaced = self._replaced.get(row)
            if replaced is not None:
                return replaced
            block, start, end = self._block[row], self._start[row], self._end[row]
            if block < 0:
                return self._open[start]
        return self._decompressed(block)[start:end]

    def _decompressed(self, block: int, blocks: tuple[list[bytes], array[int]] | None = None) -> bytes:
        """Block ``block`` of ``blocks`` (default: the current ones, with their sizes) decompressed,
        through the cache."""
        with self._cache_lock:
            found = self._cache.get(block)
            if found is not None:
                self._cache.move_to_end(block)
                return found
        compressed, sizes = (self._blocks, self._sizes) if blocks is None else blocks
        data = _decompress(compressed[block], sizes[block])
        with self._cache_lock:
            self._cache[block] = data
            if len(self._cache) > CACHED_BLOCKS:
                self._cache.popitem(last=False)
        return data

    def permute(self, order: Sequence[int]) -> None:
        """Put old row ``order[i]`` at row ``i``, compressed again in the new order.

        So rows that are neighbours now share blocks: the generator stores each shop's day in no
        particular order, and the rows are then sorted by time. Left in their old blocks, a page of
        100 orders in time order drew from some two dozen blocks, and eight clients paging through
        different weeks at once evicted each other's blocks from the cache: the demo merchant spent
        three quarters of its CPU decompressing (6,223 blocks for one 263-request sync of 23k
        orders). Read in the new order, the old blocks are a day's worth at a time, which the cache
        holds, so each is decompressed about once here."""
        with self._lock:
            self._flush()
            blocks, block, start, end, replaced = (
                (self._blocks, self._sizes),
                self._block,
                self._start,
                self._end,
                self._replaced,
            )
            self._blocks, self._sizes, self._replaced = [], array("q"), {}
            self._block, self._start, self._end = array("q"), array("q"), array("q")
            with self._cache_lock:
                self._cache.clear()
            for row in order:
                data = replaced.get(row)
                self._append(
                    data if data is not None else self._decompressed(block[row], blocks)[start[row] : end[row]]
                )
            self._flush()
            with self._cache_lock:
                self._cache.clear()


class ObjectStore(Sequence[JSONObject]):
    """JSON objects with an ``id``, compressed, in rows (see the module docstring)."""

    def __init__(self, objects: Iterable[JSONObject] = ()) -> None:
        self._json = BlockedBytes()
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
        label = self._labels.get(value)
        if label is None:
            label = self._labels[value] = sys.intern(value)
        return label

    def put(self, obj: JSONObject) -> int:
        """Store ``obj`` (a new row, or in place of the object with its id); returns its row."""
        data = orjson.dumps(obj)
        values = self._values(obj)
        row = self._row_of.get(obj["id"])
        if row is None:
            row = len(self.ids)
            object_id = obj["id"]
            self._json.append(data)
            for name, value in zip(self._column_names, values, strict=True):
                getattr(self, name).append(value)
            self.ids.append(object_id)  # last: len() counts only complete rows (readers in other threads)
            self._row_of[object_id] = row
        else:
            self._json.replace(row, data)
            for name, value in zip(self._column_names, values, strict=True):
                getattr(self, name)[row] = value
        return row

    def append(self, obj: JSONObject) -> int:
        """Same as :meth:`put` (lists of objects were appended to; the store upserts by id)."""
        return self.put(obj)

    _column_names: tuple[str, ...] = ("created_us", "updated_us", "location_ids")
    """The attributes holding one value per row (an ``array`` or a list), in :meth:`_values` order."""

    def _values(self, obj: JSONObject) -> tuple[Any, ...]:
        """The row's column values for ``obj``."""
        return (
            parse_rfc3339_us(obj["created_at"]),
            parse_rfc3339_us(obj["updated_at"]),
            self._label(obj.get("location_id")),
        )

    def json(self, row: int) -> bytes:
        """The row's object as compact JSON bytes (what the endpoints send)."""
        return self._json[row]

    def object(self, row: int) -> JSONObject:
        """The row's object, decoded (a fresh dict)."""
        result: JSONObject = orjson.loads(self._json[row])
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
        """Reorder the rows by ``(updated_at, id)`` (once, after generation).

        By ``updated_at`` because that is how a sync pages through orders, payments and refunds
        (Square's incremental filters are on it): read in that order, each block is decompressed
        about once. Stored by ``created_at``, the 6.5% of orders updated more than an hour after
        they were created each pulled an older block into the cache for one row, about seven
        blocks per 100-order page. Every index sorts by its own keys; the rows' order is only
        about which rows share a block."""
        self._permute(sort_by_stamp_then_id(self.updated_us, self.ids))
        self._row_of = {object_id: row for row, object_id in enumerate(self.ids)}

    def _permute(self, order: Sequence[int]) -> None:
        """Put old row ``order[i]`` at row ``i`` in every column."""
        self._json.permute(order)
        self.ids = list(map(self.ids.__getitem__, order))
        for name in self._column_names:
            column = getattr(self, name)
            if isinstance(column, array):
                setattr(self, name, array(column.typecode, map(column.__getitem__, order)))
            else:
                setattr(self, name, list(map(column.__getitem__, order)))


def _one_or_set(values: set[str]) -> str | frozenset[str] | None:
    """A lone value as itself (a shared string: a frozenset would take 200 bytes), else a frozenset."""
    if not values:
        return None
    if len(values) == 1:
        return next(iter(values))
    return frozenset(values)


class OrderStore(ObjectStore):
    """Orders, with the columns ``orders/search`` filters on (``closed_at``, state, source name,
    the customer ids of the order and its tenders, ``version``) and the two the live merchant
    picks returnable sales by (is it a return order, does it sell a catalog item)."""

    def __init__(self, objects: Iterable[JSONObject] = ()) -> None:
        self.closed_us = array("q")
        self.states: list[str | None] = []
        self.sources: list[str | None] = []
        self.customers: list[str | frozenset[str] | None] = []
        """The customer ids of each order and its tenders: one id, several, or None."""
        self.versions: list[Any] = []
        self.is_return: list[bool] = []
        self.sells_items: list[bool] = []
        super().__init__(objects)

    _column_names = (
        *ObjectStore._column_names,
        "closed_us",
        "states",
        "sources",
        "customers",
        "versions",
        "is_return",
        "sells_items",
    )

    def _values(self, obj: JSONObject) -> tuple[Any, ...]:
        closed_at = obj.get("closed_at")
        customers = {obj.get("customer_id"), *(tender.get("customer_id") for tender in obj.get("tenders") or ())}
        customers.discard(None)
        items = False
        for line in obj.get("line_items") or ():
            if line.get("item_type") == "ITEM":
                items = True
                break
        return (
            *super()._values(obj),
            NO_TIME if not closed_at else parse_rfc3339_us(closed_at),
            self._label(obj.get("state")),
            self._label((obj.get("source") or {}).get("name")),
            _one_or_set(customers),
            obj.get("version"),
            bool(obj.get("returns")),
            items,
        )
