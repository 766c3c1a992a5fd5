"""Query-string parameters of Square's ``GET`` list endpoints, checked the way ``wire.Body``
checks JSON bodies: unknown names get 400 ``UNKNOWN_QUERY_PARAMETER``, malformed values
``EXPECTED_INTEGER`` / ``EXPECTED_BOOLEAN`` / ``INVALID_ENUM_VALUE`` / ``INVALID_TIME``, each with
the parameter's name in ``field``. An empty value (``?cursor=``) counts as not given."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .timefmt import parse_rfc3339_us
from .wire import bad_request


def parse_time(text: str, field: str) -> int:
    """An RFC 3339 timestamp as epoch microseconds; 400 ``INVALID_TIME`` otherwise."""
    try:
        return parse_rfc3339_us(text)
    except ValueError:
        raise bad_request("INVALID_TIME", f"`{field}` must be an RFC 3339 timestamp.", field) from None


class QueryParams:
    """Typed access to a request's query parameters (the last value wins when one repeats)."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self._params = {name: value for name, value in params.items() if value != ""}

    def reject_unknown(self, known: Iterable[str]) -> None:
        allowed = set(known)
        for name in self._params:
            if name not in allowed:
                raise bad_request("UNKNOWN_QUERY_PARAMETER", f"Unknown query parameter `{name}`.", name)

    def string(self, name: str) -> str | None:
        return self._params.get(name)

    def integer(self, name: str) -> int | None:
        value = self._params.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise bad_request("EXPECTED_INTEGER", f"Expected `{name}` to be an integer.", name) from None

    def boolean(self, name: str) -> bool | None:
        value = self._params.get(name)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise bad_request("EXPECTED_BOOLEAN", f"Expected `{name}` to be `true` or `false`.", name)
        return value.lower() == "true"

    def enum(self, name: str, allowed: Iterable[str], *, code: str = "INVALID_ENUM_VALUE") -> str | None:
        value = self._params.get(name)
        options = list(allowed)
        if value is not None and value not in options:
            raise bad_request(code, f"`{value}` is not a valid value for `{name}`. Expected one of {options}.", name)
        return value

    def time(self, name: str) -> int | None:
        value = self._params.get(name)
        return None if value is None else parse_time(value, name)
