"""Cursor paging over pre-sorted, pre-serialised objects: the engine behind the demo's list and
search endpoints for payments, refunds, customers and team members.

A :class:`SortedIndex` holds its objects sorted once per sort key (a tuple per object ending in
the id, so the order is total) with each object's JSON serialised once. A page is a ``bisect``
to the bounds of the sort key plus a walk that applies the query's predicate, exactly like
``orders_search``. The cursor (see ``cursors``) remembers the position of the next object in the
walk and a pinned "now", and only works with the query fingerprint it was issued for.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .cursors import CursorCodec, CursorState

JSONObject = dict[str, Any]
Row = int
EmptyPagePolicy = Callable[[str, int], bool]
"""``(query fingerprint, position of the page's first result) -> serve an empty page first?``"""


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
    ``response_key`` (``{"payments": [...], "cursor": "..."}``, ``{}`` when nothing matches)."""

    def __init__(
        self,
        objects: list[JSONObject],
        sort_keys: dict[str, Callable[[JSONObject], tuple[Any, ...]]],
        codec: CursorCodec,
        response_key: str,
        *,
        empty_page: EmptyPagePolicy | None = None,
    ) -> None:
        self.objects = objects
        self._codec = codec
        self._key = response_key.encode()
        self._empty_page = empty_page
        self._json = [json.dumps(obj, separators=(",", ":")).encode() for obj in objects]
        self._keys: dict[str, list[tuple[Any, ...]]] = {}
        self._rows: dict[str, list[Row]] = {}
        for name, key in sort_keys.items():
            keyed = sorted((key(obj), row) for row, obj in enumerate(objects))
            self._keys[name] = [k for k, _ in keyed]
            self._rows[name] = [row for _, row in keyed]

    def decode(self, cursor: str | None, fingerprint: str) -> CursorState | None:
        """The state of ``cursor`` for this query (400 ``INVALID_CURSOR`` if it does not fit)."""
        return None if cursor is None else self._codec.decode(cursor, fingerprint)

    def page(self, request: PageRequest) -> Page:
        keys = self._keys[request.sort]
        rows = self._rows[request.sort]
        low = 0 if request.low is None else bisect_left(keys, (request.low,))
        high = len(keys) if request.high is None else bisect_left(keys, (request.high,))
        state = request.state
        position = None if state is None else state.position
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
        if self._empty_page is not None and not empty_served and self._empty_page(request.fingerprint, first_position):
            cursor = self._codec.encode(request.fingerprint, CursorState(first_position, pinned, empty_served=True))
            return Page(b'{"cursor":"' + cursor.encode() + b'"}', (), empty=True)
        body = b'{"' + self._key + b'":[' + b",".join(self._json[row] for row in page) + b"]"
        if next_position is not None:
            cursor = self._codec.encode(request.fingerprint, CursorState(next_position, pinned))
            body += b',"cursor":"' + cursor.encode() + b'"'
        return Page(body + b"}", tuple(page))
