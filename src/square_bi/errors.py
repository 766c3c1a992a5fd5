"""The one exception root of square-bi.

Every error the product raises on purpose derives from :class:`SquareBIError` and says what
happened, to what, and what to do next. The tree, grouped by what the caller does next::

    SquareBIError
    ├── ConfigError            fix the settings / flags and run again
    ├── SourceError            talking to Square (or the demo merchant) failed
    │   ├── RetriableSourceError   429 / 5xx / connection errors: back off and retry
    │   ├── CursorExpiredError     400 INVALID_CURSOR: restart the partition from its watermark
    │   └── FatalSourceError       401 / 403 / other 4xx: retrying will not help
    ├── WarehouseError         the DuckDB file could not be opened, written or read
    └── SemanticError          a metric, dimension or YAML file is wrong (lists valid names)

The CLI prints ``str(error)`` on one line and exits non-zero; the MCP server returns it as a tool
error the model can correct from. No message ever contains the access token.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SquareBIError(Exception):
    """Root of every error square-bi raises on purpose."""


class ConfigError(SquareBIError):
    """Settings or command-line input are missing or invalid."""


class SourceError(SquareBIError):
    """Talking to the Square API failed."""


class RetriableSourceError(SourceError):
    """A transient failure (429, 5xx, dropped connection): retrying may succeed."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """Seconds the server asked us to wait (``Retry-After``), if it said."""
        self.rate_limited = rate_limited
        """True for a 429."""


class FatalSourceError(SourceError):
    """A permanent failure (bad token, missing scope, bad request): retrying will not help."""


class CursorExpiredError(SourceError):
    """Square refused a pagination cursor (expired, or not from this query): restart the partition."""


class WarehouseError(SquareBIError):
    """The DuckDB warehouse could not be opened, written or read."""


class SemanticError(SquareBIError):
    """A metric query or semantic YAML refers to something that does not exist or cannot work."""


def did_you_mean(name: str, valid: Iterable[str], *, kind: str) -> str:
    """Build "Unknown <kind> 'x'. Declared: [...]. Did you mean 'y'?" for errors an LLM reads."""
    options = sorted(set(valid))
    message = f"Unknown {kind} {name!r}. Declared: {options}."
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.5)
    if close:
        message += " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return message
