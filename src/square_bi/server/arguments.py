"""Argument coercion for tools: models often send lists as JSON strings or comma lists."""

from __future__ import annotations

import json
from typing import Any

from square_bi.errors import SemanticError


def name_list(value: Any, *, argument: str) -> list[str]:
    """Accept ``["a", "b"]``, ``'["a", "b"]'``, ``"a,b"`` or ``"a"``; return a list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SemanticError(f"{argument}: could not parse {text!r} as a JSON list ({exc.msg}).") from None
        else:
            return [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SemanticError(f"{argument}: expected a list of names, got {type(value).__name__}.")
    return [item.strip() for item in value if item.strip()]
