"""``POST /v2/catalog/search`` and ``GET /v2/catalog/list`` semantics, independent of HTTP.

What Square does and the demo mimics:

* ``object_types`` defaults to the top-level types; nested types such as ``ITEM_VARIATION``
  come back only when named (an ``ITEM`` always embeds its variations);
* deleted objects are left out unless ``include_deleted_objects`` is true, and then carry
  ``is_deleted: true``;
* ``begin_time`` is exclusive: only objects with ``updated_at`` strictly after it;
* ``limit`` is advisory, default 100; zero, negative or above 1000 is ignored (not an error);
* ``include_related_objects`` adds the categories of returned items and the parent items of
  returned variations under ``related_objects`` (one level deep, not repeating ``objects``);
* ``latest_time`` is when the catalog last changed, usable as the next ``begin_time``;
* the cursor only works with the original request; ``cursor`` is absent on the last page.

The text ``query`` and ``include_options`` are valid for Square but not implemented by the
demo: they get a 400 rather than being silently ignored.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .cursors import CursorCodec, CursorState, fingerprint
from .listing import SortedEntries
from .params import QueryParams
from .timefmt import format_us, parse_rfc3339_us
from .wire import Body, bad_request

JSONObject = dict[str, Any]

CATALOG_OBJECT_TYPES = (
    "ITEM", "IMAGE", "CATEGORY", "ITEM_VARIATION", "TAX", "DISCOUNT", "MODIFIER_LIST", "MODIFIER",
    "PRICING_RULE", "PRODUCT_SET", "TIME_PERIOD", "MEASUREMENT_UNIT", "SUBSCRIPTION_PLAN_VARIATION",
    "ITEM_OPTION", "ITEM_OPTION_VAL", "CUSTOM_ATTRIBUTE_DEFINITION", "QUICK_AMOUNTS_SETTINGS",
    "SUBSCRIPTION_PLAN", "AVAILABILITY_PERIOD",
)  # fmt: skip
DEFAULT_OBJECT_TYPES = (
    "ITEM", "CATEGORY", "TAX", "DISCOUNT", "MODIFIER_LIST", "PRICING_RULE", "PRODUCT_SET",
    "TIME_PERIOD", "MEASUREMENT_UNIT", "SUBSCRIPTION_PLAN", "ITEM_OPTION", "CUSTOM_ATTRIBUTE_DEFINITION",
    "QUICK_AMOUNTS_SETTINGS",
)  # fmt: skip
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class SearchCatalogRequest:
    object_types: tuple[str, ...]
    include_deleted: bool
    include_related: bool
    begin_us: int | None
    limit: int
    cursor: str | None

    def fingerprint(self) -> str:
        return fingerprint(
            {
                "types": self.object_types,
                "deleted": self.include_deleted,
                "related": self.include_related,
                "begin": self.begin_us,
            }
        )


def parse_search_catalog(body: Body) -> SearchCatalogRequest:
    """Validate a ``SearchCatalogObjectsRequest`` body; raises ``SquareRequestError``."""
    body.reject_unknown(
        (
            "cursor",
            "object_types",
            "include_deleted_objects",
            "include_related_objects",
            "begin_time",
            "limit",
            "include_category_path_to_root",
        ),
        unsupported=("query", "include_options"),
    )
    object_types = body.enums("object_types", CATALOG_OBJECT_TYPES)
    include_deleted = bool(body.boolean("include_deleted_objects"))
    if include_deleted and body.boolean("include_category_path_to_root"):
        raise bad_request(
            "CONFLICTING_PARAMETERS",
            "`include_deleted_objects` and `include_category_path_to_root` cannot both be true.",
            "include_category_path_to_root",
        )
    begin_text = body.string("begin_time")
    begin_us = None
    if begin_text is not None:
        try:
            begin_us = parse_rfc3339_us(begin_text)
        except ValueError:
            raise bad_request("INVALID_TIME", "`begin_time` must be an RFC 3339 timestamp.", "begin_time") from None
    limit = body.integer("limit")
    if limit is None or not 0 < limit <= MAX_LIMIT:
        limit = DEFAULT_LIMIT  # Square treats the limit as advisory and ignores bad values
    return SearchCatalogRequest(
        object_types=tuple(sorted(set(object_types or DEFAULT_OBJECT_TYPES))),
        include_deleted=include_deleted,
        include_related=bool(body.boolean("include_related_objects")),
        begin_us=begin_us,
        limit=limit,
        cursor=body.string("cursor"),
    )


def _references(obj: JSONObject) -> list[str]:
    """Ids an object points at (one level), in a stable order."""
    if obj["type"] == "ITEM":
        data = obj.get("item_data", {})
        ids = [category["id"] for category in data.get("categories", [])]
        ids += [c["id"] for c in (data.get("reporting_category"),) if c]
        ids += [data["category_id"]] if data.get("category_id") else []
        return ids
    if obj["type"] == "ITEM_VARIATION":
        item_id = obj.get("item_variation_data", {}).get("item_id")
        return [item_id] if item_id else []
    return []


MAX_ID = "\U0010ffff"


def _stamp(obj: JSONObject) -> tuple[int, str]:
    return parse_rfc3339_us(obj["updated_at"]), obj["id"]


class CatalogIndex:
    """Catalog objects sorted by (``updated_at``, id), the order incremental readers want.

    ``empty_page`` (fault injection) decides, per query fingerprint and position, whether an empty
    page (cursor and ``latest_time`` only) with a cursor to that same position precedes the real page.
    """

    def __init__(
        self,
        objects: list[JSONObject],
        codec: CursorCodec,
        *,
        empty_page: Callable[[str, int], bool] | None = None,
    ) -> None:
        self._codec = codec
        self._empty_page = empty_page
        self._objects = list(objects)
        self._row_of = {obj["id"]: row for row, obj in enumerate(objects)}
        self._by_id = {obj["id"]: obj for obj in objects}
        self._sorted = SortedEntries([(_stamp(obj), row) for row, obj in enumerate(objects)], len(objects))
        self._latest_us = max((key[0] for key in self._sorted.keys), default=None)
        self.latest_time = format_us(self._latest_us) if self._latest_us is not None else None

    def upsert(self, obj: JSONObject) -> None:
        """Add or replace a catalog object (live data): it moves to its new ``updated_at``."""
        row = self._row_of.get(obj["id"])
        if row is None:
            row = self._row_of[obj["id"]] = len(self._objects)
            self._objects.append(obj)
        self._objects[row] = obj
        self._by_id[obj["id"]] = obj
        key = _stamp(obj)
        self._sorted.set(row, key)
        if self._latest_us is None or key[0] > self._latest_us:
            self._latest_us = key[0]
            self.latest_time = format_us(key[0])

    def search(self, request: SearchCatalogRequest) -> JSONObject:
        query_fingerprint = request.fingerprint()
        empty_served = False
        state: CursorState | None = None
        if request.cursor is not None:
            state = self._codec.decode(request.cursor, query_fingerprint)
            empty_served = state.empty_served
        entries = self._sorted
        position = entries.resume(state) or 0
        if request.begin_us is not None:
            position = max(position, bisect_right(entries.keys, (request.begin_us, MAX_ID)))
        types = set(request.object_types)
        page: list[JSONObject] = []
        first_position = 0
        next_position: int | None = None
        for index in range(position, len(entries.keys)):
            if not entries.live(index):
                continue
            obj = self._objects[entries.rows[index]]
            if obj["type"] not in types or (obj.get("is_deleted") and not request.include_deleted):
                continue
            if len(page) == request.limit:
                next_position = index
                break
            if not page:
                first_position = index
            page.append(obj)

        response: JSONObject = {}
        policy = self._empty_page
        if page and policy is not None and not empty_served and policy(query_fingerprint, first_position):
            response["cursor"] = self._codec.encode(
                query_fingerprint, entries.state(first_position, None, empty_served=True)
            )
            if self.latest_time is not None:
                response["latest_time"] = self.latest_time
            return response
        if page:
            response["objects"] = page
        if page and request.include_related:
            returned = {obj["id"] for obj in page}
            related: dict[str, JSONObject] = {}
            for obj in page:
                for ref in _references(obj):
                    if ref not in returned and ref not in related and ref in self._by_id:
                        related[ref] = self._by_id[ref]
            if related:
                response["related_objects"] = list(related.values())
        if next_position is not None:
            response["cursor"] = self._codec.encode(query_fingerprint, entries.state(next_position, None))
        if self.latest_time is not None:
            response["latest_time"] = self.latest_time
        return response


LIST_PAGE_SIZE = 100
"""ListCatalog's page size (Square: "currently set to be 100")."""


def parse_list_catalog(params: QueryParams) -> SearchCatalogRequest:
    """``GET /v2/catalog/list``: ``types`` is a case-insensitive comma list (default: the
    top-level types); deleted objects never come back; ``catalog_version`` (historical versions)
    is valid for Square but not implemented by the demo (400)."""
    params.reject_unknown(("cursor", "types", "catalog_version"))
    if params.string("catalog_version") is not None:
        raise bad_request(
            "BAD_REQUEST",
            "`catalog_version` is valid for Square but not supported by the demo merchant yet.",
            "catalog_version",
        )
    text = params.string("types")
    types: tuple[str, ...] = DEFAULT_OBJECT_TYPES
    if text is not None:
        names = [name.strip().upper() for name in text.split(",") if name.strip()]
        for name in names:
            if name not in CATALOG_OBJECT_TYPES:
                raise bad_request(
                    "INVALID_ENUM_VALUE", f"`{name}` is not a valid catalog object type for `types`.", "types"
                )
        types = tuple(names) or DEFAULT_OBJECT_TYPES
    return SearchCatalogRequest(
        object_types=tuple(sorted(set(types))),
        include_deleted=False,
        include_related=False,
        begin_us=None,
        limit=LIST_PAGE_SIZE,
        cursor=params.string("cursor"),
    )
