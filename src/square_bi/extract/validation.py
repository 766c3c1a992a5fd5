"""Validating a page of Square's JSON at the boundary: valid records on, invalid ones to dead letters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import ValidationError

from square_bi.extract.records import JsonObject, RecordSchema, schema_validator
from square_bi.extract.state import DeadRecord


def validate_objects(
    schema: RecordSchema, objects: Sequence[JsonObject], primary_key: str = "id"
) -> tuple[list[Any], list[JsonObject], list[DeadRecord]]:
    """(valid records, their JSON, dead letters) of ``objects`` (parsed JSON, or JSON text); a record
    that fails validation is kept with its raw JSON and the first errors, under its id (or a
    made-up one if it has none)."""
    valid: list[Any] = []
    valid_raw: list[JsonObject] = []
    dead: list[DeadRecord] = []
    validator = schema_validator(schema)
    for obj in objects:
        try:
            valid.append(validator.validate_json(obj) if isinstance(obj, str) else validator.validate_python(obj))
            valid_raw.append(obj)
        except ValidationError as exc:
            if isinstance(obj, str):
                obj = orjson.loads(obj)  # the text was a JSON value (request_objects checked its syntax)
            record_id = str(obj.get(primary_key, "")) if isinstance(obj, dict) else ""
            errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
            dead.append(DeadRecord(record_id or f"unknown-{uuid.uuid4().hex[:8]}", errors, obj))
    return valid, valid_raw, dead
