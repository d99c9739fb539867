"""Validate instances against the OpenAPI document in app/web/openapi.py.

Schemas are validated with jsonschema (Draft 2020-12, the dialect of OpenAPI
3.1); `#/components/schemas/...` references resolve against the whole
document through a `referencing` registry. Structure is checked on its own;
the `format` keywords (date-time, uri) are asserted separately, because JSON
Schema treats them as annotations unless a format checker is given.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.web.openapi import OPENAPI

DOCUMENT_URI = "urn:vigil:openapi"
REGISTRY = Registry().with_resource(DOCUMENT_URI, Resource.from_contents(OPENAPI, default_specification=DRAFT202012))

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
STRICT_FORMATS = FormatChecker(formats=())


@STRICT_FORMATS.checks("date-time")
def _is_rfc3339(value) -> bool:
    return not isinstance(value, str) or bool(RFC3339.match(value))


@STRICT_FORMATS.checks("uri")
def _is_absolute_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc) and not any(ch.isspace() for ch in value)


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def response_schema(path: str, status: str = "200", method: str = "get") -> dict:
    """A reference into the whole document, so the schema's own "#/components/..." refs resolve."""
    return {"$ref": DOCUMENT_URI + _pointer("paths", path, method, "responses", status, "content",
                                            "application/json", "schema")}


def request_schema(path: str, method: str) -> dict:
    return {"$ref": DOCUMENT_URI + _pointer("paths", path, method, "requestBody", "content",
                                            "application/json", "schema")}


def component(name: str) -> dict:
    return {"$ref": DOCUMENT_URI + _pointer("components", "schemas", name)}


def validator(schema: dict, *, formats: bool = False) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=REGISTRY, format_checker=STRICT_FORMATS if formats else None)


def assert_valid(instance, schema: dict, *, formats: bool = False) -> None:
    errors = sorted(validator(schema, formats=formats).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
