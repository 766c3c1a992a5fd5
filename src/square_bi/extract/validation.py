"""Validating a page of Square's JSON at the boundary: valid records on, invalid ones to dead letters."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from square_bi.extract.records import RecordSchema, schema_validator
from square_bi.extract.state import DeadRecord


def validate_objects(
    schema: RecordSchema, objects: list[dict[str, Any]], primary_key: str = "id"
) -> tuple[list[Any], list[dict[str, Any]], list[DeadRecord]]:
    """(valid records, their JSON, dead letters) of ``objects``; a record that fails validation is
    kept with its raw JSON and the first errors, under its id (or a made-up one if it has none)."""
    valid: list[Any] = []
    valid_raw: list[dict[str, Any]] = []
    dead: list[DeadRecord] = []
    validate = schema_validator(schema).validate_python
    for obj in objects:
        try:
            valid.append(validate(obj))
            valid_raw.append(obj)
        except ValidationError as exc:
            record_id = str(obj.get(primary_key, "")) if isinstance(obj, dict) else ""
            errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
            dead.append(DeadRecord(record_id or f"unknown-{uuid.uuid4().hex[:8]}", errors, obj))
    return valid, valid_raw, dead
