"""Square's error envelope and the request-body checks that produce it.

Every Square error response is ``{"errors": [{"category", "code", "detail"?, "field"?}]}`` with
the HTTP status of the (first) error; categories and codes come from the ``ErrorCategory`` and
``ErrorCode`` enums of Square's OpenAPI spec. Bodies with the wrong JSON type for a field get
``INVALID_REQUEST_ERROR`` with an ``EXPECTED_<TYPE>`` code and the dotted ``field`` path, and
``null`` counts as "not set" (the SDK sends ``null`` for parameters passed as ``None``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

JSONObject = dict[str, Any]

INVALID_REQUEST_ERROR = "INVALID_REQUEST_ERROR"
AUTHENTICATION_ERROR = "AUTHENTICATION_ERROR"
API_ERROR = "API_ERROR"
RATE_LIMIT_ERROR = "RATE_LIMIT_ERROR"


class SquareRequestError(Exception):
    """One Square API error; the app turns it into the ``{"errors": [...]}`` envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        category: str = INVALID_REQUEST_ERROR,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.category = category

    def to_error(self) -> JSONObject:
        """The ``Error`` object Square would send."""
        error: JSONObject = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field is not None:
            error["field"] = self.field
        return error

    def envelope(self) -> JSONObject:
        return {"errors": [self.to_error()]}


def bad_request(code: str, detail: str, field: str | None = None) -> SquareRequestError:
    """A 400 ``INVALID_REQUEST_ERROR``."""
    return SquareRequestError(400, code, detail, field=field)


_EXPECTED: dict[type, tuple[str, str]] = {
    str: ("EXPECTED_STRING", "a string"),
    bool: ("EXPECTED_BOOLEAN", "a boolean"),
    int: ("EXPECTED_INTEGER", "an integer"),
    list: ("EXPECTED_ARRAY", "an array"),
    dict: ("EXPECTED_OBJECT", "an object"),
}


class Body:
    """Typed, path-aware access to one JSON object of a request body."""

    def __init__(self, data: JSONObject, path: str = "") -> None:
        self.data = data
        self.path = path

    @classmethod
    def parse(cls, raw: bytes) -> Body:
        """Decode a request body that must be a JSON object (an empty body counts as ``{}``)."""
        if not raw.strip():
            return cls({})
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request("EXPECTED_JSON_BODY", f"The request body is not valid JSON: {exc}.") from exc
        if not isinstance(data, dict):
            raise bad_request("EXPECTED_OBJECT", "The request body must be a JSON object.")
        return cls(data)

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def reject_unknown(self, known: Iterable[str], *, unsupported: Iterable[str] = ()) -> None:
        """400 for keys Square does not know, and for known keys the demo does not implement."""
        known_set = set(known)
        unsupported_set = set(unsupported)
        for key, value in self.data.items():
            if key in unsupported_set and value is not None:
                raise bad_request(
                    "BAD_REQUEST",
                    f"`{self.field(key)}` is valid for Square but not supported by the demo merchant yet.",
                    self.field(key),
                )
            if key not in known_set and key not in unsupported_set:
                raise bad_request(
                    "UNKNOWN_BODY_PARAMETER", f"Unknown body parameter `{self.field(key)}`.", self.field(key)
                )

    def _typed(self, key: str, kind: type) -> Any:
        value = self.data.get(key)
        if value is None:
            return None
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            code, noun = _EXPECTED[kind]
            raise bad_request(code, f"Expected `{self.field(key)}` to be {noun}.", self.field(key))
        return value

    def string(self, key: str) -> str | None:
        value: str | None = self._typed(key, str)
        return value

    def boolean(self, key: str) -> bool | None:
        value: bool | None = self._typed(key, bool)
        return value

    def integer(self, key: str) -> int | None:
        value: int | None = self._typed(key, int)
        return value

    def obj(self, key: str) -> Body | None:
        value = self._typed(key, dict)
        return None if value is None else Body(value, self.field(key))

    def strings(self, key: str) -> list[str] | None:
        values: list[Any] | None = self._typed(key, list)
        if values is None:
            return None
        for index, item in enumerate(values):
            if not isinstance(item, str):
                raise bad_request(
                    "EXPECTED_STRING",
                    f"Expected `{self.field(key)}[{index}]` to be a string.",
                    self.field(key),
                )
        return values

    def enums(self, key: str, allowed: Iterable[str]) -> list[str] | None:
        values = self.strings(key)
        if values is not None:
            for value in values:
                self.check_enum(key, value, allowed)
        return values

    def enum(self, key: str, allowed: Iterable[str]) -> str | None:
        value = self.string(key)
        if value is not None:
            self.check_enum(key, value, allowed)
        return value

    def check_enum(self, key: str, value: str, allowed: Iterable[str]) -> None:
        options = list(allowed)
        if value not in options:
            raise bad_request(
                "INVALID_ENUM_VALUE",
                f"`{value}` is not a valid enum value for `{self.field(key)}`. Expected one of {options}.",
                self.field(key),
            )
