"""Helpers shared by the demo merchant tests: Square's schemas as validators, constants, parsing.

Kept out of ``conftest.py`` under a unique module name so test modules can import it directly
(``conftest`` is ambiguous once several test folders have one)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "square-api" / "api.json"
SPEC_URI = "urn:square-api"
ANCHOR = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday; tests never depend on "today"
TOKEN = "demo-token"

JSONObject = dict[str, Any]


class SquareSchemas:
    """Validates JSON against ``#/components/schemas/<name>`` of Square's spec.

    The spec never sets ``additionalProperties: false``, so plain validation would accept a
    misspelt field; :meth:`undeclared` additionally lists every key the schema does not declare.
    """

    def __init__(self, spec: JSONObject) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT4)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)

    @cache  # noqa: B019 - one instance per session
    def _validator(self, name: str, direction: str) -> Any:
        cls = OAS30ReadValidator if direction == "response" else OAS30WriteValidator
        schema = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
        return cls(schema, registry=self._registry, format_checker=oas30_format_checker)

    def _schema(self, schema: JSONObject) -> JSONObject:
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def undeclared(self, instance: Any, schema: JSONObject, path: str = "$") -> list[str]:
        schema = self._schema(schema)
        found: list[str] = []
        if isinstance(instance, dict):
            properties = schema.get("properties")
            extra = schema.get("additionalProperties")
            for key, value in instance.items():
                if properties is not None and key in properties:
                    found += self.undeclared(value, properties[key], f"{path}.{key}")
                elif isinstance(extra, dict):
                    found += self.undeclared(value, extra, f"{path}.{key}")
                elif properties is not None and extra is not True:
                    found.append(f"{path}.{key}")
        elif isinstance(instance, list) and "items" in schema:
            for index, item in enumerate(instance):
                found += self.undeclared(item, schema["items"], f"{path}[{index}]")
        return found

    def check(self, name: str, instance: Any, *, direction: str = "response") -> None:
        """Raise if ``instance`` is not a valid ``name`` or has fields ``name`` does not declare."""
        self._validator(name, direction).validate(instance)
        undeclared = self.undeclared(instance, {"$ref": f"#/components/schemas/{name}"})
        assert not undeclared, f"fields not declared by {name}: {undeclared[:10]}"

    def check_request(self, name: str, instance: Any) -> None:
        self.check(name, instance, direction="request")

    def check_errors(self, body: JSONObject) -> list[JSONObject]:
        """A Square error envelope: ``{"errors": [Error, ...]}`` with at least one error."""
        assert set(body) == {"errors"}, body
        assert body["errors"], body
        for error in body["errors"]:
            self.check("Error", error)
        errors: list[JSONObject] = body["errors"]
        return errors


def parse_time(text: str) -> datetime:
    """Independent timestamp parser for expectations (not the demo's own)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
