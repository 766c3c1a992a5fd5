"""Cursor paging over pre-sorted objects: the engine behind the demo's list and search endpoints.

A :class:`SortedIndex` (customers, team members) holds its objects sorted once per sort key (a
tuple per object ending in the id, so the order is total) with each object's JSON serialised once.
The large collections (orders, payments, refunds) are sorted by :class:`StampedEntries` over their
compact stores instead (see ``store``). Either way a page is :func:`walk_page`: a ``bisect`` to the
bounds of the sort key plus a walk that applies the query's predicate. The cursor (see ``cursors``)
remembers the position of the next object in the walk and a pinned "now", and only works with the
query fingerprint it was issued for.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .cursors import CursorCodec, CursorState
from .store import NO_TIME, sort_by_stamp_then_id

JSONObject = dict[str, Any]
Row = int
EmptyPagePolicy = Callable[[str, int], bool]
"""``(query fingerprint, position of the page's first result) -> serve an empty page first?``"""


class SortedEntries:
    """``(key, row)`` entries sorted by key (a tuple ending in the object's id).

    Live data (see ``live``) only ever *adds* entries: when a row's key changes, its new key is
    inserted and the old entry stays behind, stale (readers skip entries whose key is no longer
    their row's :attr:`current` key). Cursors carry the key of their next entry and find it again
    with :meth:`resume`, so entries inserted anywhere never shift a cursor in flight.
    """

    def __init__(self, pairs: list[tuple[tuple[Any, ...], Row]], rows: int) -> None:
        pairs.sort()
        self.keys = [key for key, _ in pairs]
        self.rows = [row for _, row in pairs]
        self.current: list[tuple[Any, ...] | None] = [None] * rows
        for key, row in pairs:
            self.current[row] = key

    def set(self, row: Row, key: tuple[Any, ...] | None) -> None:
        """Give ``row`` (possibly a new one, ``row == len(current)``) the key ``key``."""
        if row == len(self.current):
            self.current.append(None)
        if key == self.current[row]:
            return
        self.current[row] = key
        if key is not None:
            position = bisect_right(self.keys, key)
            self.keys.insert(position, key)
            self.rows.insert(position, row)

    def live(self, index: int) -> bool:
        """Whether the entry at ``index`` is its row's current one (not left behind by a change)."""
        return self.current[self.rows[index]] == self.keys[index]

    def resume(self, state: CursorState | None) -> int | None:
        """The index a cursor continues at (None without a cursor)."""
        if state is None:
            return None
        if state.key is not None:
            return bisect_left(self.keys, state.key)
        return state.position

    def state(self, index: int, pinned: int | None, *, empty_served: bool = False) -> CursorState:
        """The cursor state continuing at ``index``."""
        return CursorState(index, pinned, empty_served=empty_served, key=self.keys[index])


class _StampedKeys:
    """The ``(stamp, id)`` keys of :class:`StampedEntries`, built on access (enough for ``bisect``)."""

    def __init__(self, entries: StampedEntries) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries.stamps)

    def __getitem__(self, index: int) -> tuple[int, str]:
        entries = self._entries
        return entries.stamps[index], entries.ids[entries.rows[index]]


class StampedEntries:
    """:class:`SortedEntries` for keys ``(timestamp in microseconds, id)``, held compactly.

    The large indexes (orders, payments, refunds: hundreds of thousands of rows, several sort fields)
    keep each entry as two machine integers (``array('q')``: the stamp and the row) instead of a
    tuple of Python objects; the id in a key is read from ``ids`` (the store's, by row; a row's id
    never changes). Same interface and same rules as :class:`SortedEntries` (entries only added,
    stale ones skipped, cursors carry their next key). ``NO_TIME`` stamps (an absent timestamp) get
    no entry.
    """

    def __init__(self, stamps: Sequence[int], ids: Sequence[str]) -> None:
        self.ids = ids
        # absent stamps (NO_TIME) sort first and get no entries
        rows = sort_by_stamp_then_id(stamps, ids)
        del rows[: bisect_left(rows, NO_TIME + 1, key=stamps.__getitem__)]
        self.stamps = array("q", map(stamps.__getitem__, rows))
        self.rows = array("q", rows)
        self.current = array("q", stamps)
        self.keys = _StampedKeys(self)

    def set(self, row: Row, key: tuple[Any, ...] | None) -> None:
        """Give ``row`` (possibly a new one, ``row >= len(current)``) the key ``key``."""
        stamp = NO_TIME if key is None else key[0]
        while row >= len(self.current):
            self.current.append(NO_TIME)
        if stamp == self.current[row]:
            return
        self.current[row] = stamp
        if key is not None:
            position = bisect_right(self.keys, key)
            self.stamps.insert(position, stamp)
            self.rows.insert(position, row)

    def live(self, index: int) -> bool:
        """Whether the entry at ``index`` is its row's current one (not left behind by a change)."""
        return self.current[self.rows[index]] == self.stamps[index]

    def resume(self, state: CursorState | None) -> int | None:
        """The index a cursor continues at (None without a cursor)."""
        if state is None:
            return None
        if state.key is not None:
            return bisect_left(self.keys, tuple(state.key))
        return state.position

    def state(self, index: int, pinned: int | None, *, empty_served: bool = False) -> CursorState:
        """The cursor state continuing at ``index``."""
        return CursorState(index, pinned, empty_served=empty_served, key=self.keys[index])


class Keys(Protocol):
    """Sorted keys, enough for ``bisect``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> tuple[Any, ...]: ...


class Entries(Protocol):
    """What a page walk needs of :class:`SortedEntries` or :class:`StampedEntries`."""

    @property
    def keys(self) -> Keys: ...

    @property
    def rows(self) -> Sequence[Row]: ...

    def live(self, index: int) -> bool: ...

    def resume(self, state: CursorState | None) -> int | None: ...

    def state(self, index: int, pinned: int | None, *, empty_served: bool = False) -> CursorState: ...


@dataclass(frozen=True)
class Page:
    """One answer: the JSON body, the rows on it and whether it is an injected empty page."""

    body: bytes
    rows: tuple[Row, ...]
    empty: bool = False


@dataclass(frozen=True)
class PageRequest:
    """What to walk: ``sort`` names a key of the index; ``low``/``high`` bound that key's first
    element (``low`` inclusive, ``high`` exclusive, None = open); ``keep`` filters rows."""

    fingerprint: str
    sort: str
    descending: bool
    limit: int
    state: CursorState | None
    pinned_us: int | None = None
    low: Any = None
    high: Any = None
    keep: Callable[[Row], bool] | None = None


class SortedIndex:
    """``objects`` sorted by each of ``sort_keys``; answers :class:`PageRequest`\\ s under
    ``response_key`` (``{"payments": [...], "cursor": "..."}``, ``{}`` when nothing matches).
    :meth:`upsert` adds or replaces an object (live data)."""

    def __init__(
        self,
        objects: list[JSONObject],
        sort_keys: dict[str, Callable[[JSONObject], tuple[Any, ...]]],
        codec: CursorCodec,
        response_key: str,
        *,
        empty_page: EmptyPagePolicy | None = None,
    ) -> None:
        self.objects = list(objects)
        self._codec = codec
        self._key = response_key.encode()
        self._empty_page = empty_page
        self._sort_keys = sort_keys
        self._json = [json.dumps(obj, separators=(",", ":")).encode() for obj in objects]
        self._row_of = {obj["id"]: row for row, obj in enumerate(objects)}
        self._entries = {
            name: SortedEntries([(key(obj), row) for row, obj in enumerate(objects)], len(objects))
            for name, key in sort_keys.items()
        }

    def row(self, object_id: str) -> Row | None:
        return self._row_of.get(object_id)

    def upsert(self, obj: JSONObject) -> Row:
        """Add ``obj`` or replace the object with its id (call only after the caller's per-row
        data can answer for the row, since the sort keys may read it); returns its row."""
        row = self._row_of.get(obj["id"])
        if row is None:
            row = len(self.objects)
            self._row_of[obj["id"]] = row
            self.objects.append(obj)
            self._json.append(b"")
        self.objects[row] = obj
        self._json[row] = json.dumps(obj, separators=(",", ":")).encode()
        for name, key in self._sort_keys.items():
            self._entries[name].set(row, key(obj))
        return row

    def decode(self, cursor: str | None, fingerprint: str) -> CursorState | None:
        """The state of ``cursor`` for this query (400 ``INVALID_CURSOR`` if it does not fit)."""
        return None if cursor is None else self._codec.decode(cursor, fingerprint)

    def page(self, request: PageRequest) -> Page:
        return walk_page(
            self._entries[request.sort], self._json.__getitem__, request, self._codec, self._key, self._empty_page
        )


def walk_page(
    entries: Entries,
    json_of: Callable[[Row], bytes],
    request: PageRequest,
    codec: CursorCodec,
    response_key: bytes,
    empty_page: EmptyPagePolicy | None,
) -> Page:
    """Answer ``request`` from ``entries`` (``json_of`` serialises a row): the page walk shared by
    every index built on :class:`SortedEntries` or :class:`StampedEntries`."""
    keys = entries.keys
    rows = entries.rows
    low = 0 if request.low is None else bisect_left(keys, (request.low,))
    high = len(keys) if request.high is None else bisect_left(keys, (request.high,))
    state = request.state
    position = entries.resume(state)
    if request.descending:
        start = high - 1 if position is None else min(high - 1, position)
        candidates = range(start, low - 1, -1)
    else:
        start = low if position is None else max(low, position)
        candidates = range(start, high)

    keep = request.keep
    page: list[Row] = []
    first_position = 0
    next_position: int | None = None
    for index in candidates:
        if not entries.live(index):
            continue
        row = rows[index]
        if keep is not None and not keep(row):
            continue
        if len(page) == request.limit:
            next_position = index
            break
        if not page:
            first_position = index
        page.append(row)

    if not page:
        return Page(b"{}", ())
    pinned = request.pinned_us
    empty_served = state is not None and state.empty_served
    if empty_page is not None and not empty_served and empty_page(request.fingerprint, first_position):
        cursor = codec.encode(request.fingerprint, entries.state(first_position, pinned, empty_served=True))
        return Page(b'{"cursor":"' + cursor.encode() + b'"}', (), empty=True)
    body = b'{"' + response_key + b'":[' + b",".join(json_of(row) for row in page) + b"]"
    if next_position is not None:
        cursor = codec.encode(request.fingerprint, entries.state(next_position, pinned))
        body += b',"cursor":"' + cursor.encode() + b'"'
    return Page(body + b"}", tuple(page))
