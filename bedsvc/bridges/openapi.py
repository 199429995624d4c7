"""The bridges' request bodies in the OpenAPI document.

The bridge handlers read their bodies raw (JSON or form fields, numbers as strings; see
body.py), so Litestar sees no body parameter to document. `body_operation(Struct)` is an
`operation_class` for such a handler: the same Operation with the Struct's JSON schema (from
msgspec, the one definition of the payload) as its JSON request body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

# JSON Schema keywords msgspec emits for these payloads, and their names on litestar's Schema.
_PLAIN = {
    "title": "title",
    "description": "description",
    "default": "default",
    "enum": "enum",
    "format": "format",
    "pattern": "pattern",
    "required": "required",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
}


def _schema(node: dict[str, Any], defs: dict[str, Any]) -> Schema:
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    fields: dict[str, Any] = {_PLAIN[key]: value for key, value in node.items() if key in _PLAIN}
    if "type" in node:
        fields["type"] = OpenAPIType(node["type"])
    if "properties" in node:
        fields["properties"] = {k: _schema(v, defs) for k, v in node["properties"].items()}
    if "anyOf" in node:
        fields["any_of"] = [_schema(option, defs) for option in node["anyOf"]]
    if "items" in node:
        fields["items"] = _schema(node["items"], defs)
    return Schema(**fields)


def body_schema(payload: type[msgspec.Struct]) -> Schema:
    document = msgspec.json.schema(payload)
    return _schema(document, document.get("$defs", {}))


def body_operation(payload: type[msgspec.Struct], description: str) -> type[Operation]:
    body = RequestBody(
        content={"application/json": OpenAPIMediaType(schema=body_schema(payload))},
        description=description,
        required=True,
    )

    @dataclass
    class BodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return BodyOperation
