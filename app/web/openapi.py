"""The OpenAPI 3.1 document of /api/v1.

Written by hand: the API is four read-only endpoints, and a generator
(apispec, flask-smorest) would add a schema layer (marshmallow) the rest of the
app does not use. tests/unit/test_api_contract.py validates live responses
against these schemas, so the document cannot drift from the code.
"""
from __future__ import annotations

_NULLABLE_NUMBER = {"type": ["number", "null"]}
_STATE = {"type": "string", "enum": ["up", "down", "pending", "paused"]}
_ERROR = {"type": "object", "required": ["error", "status"],
          "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}

MONITOR = {
    "type": "object",
    "required": ["id", "name", "url", "method", "interval_minutes", "timeout_seconds",
                 "expected_status", "keyword", "enabled", "state", "last_checked_at"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "maxLength": 100},
        "url": {"type": "string", "format": "uri"},
        "method": {"type": "string", "enum": ["GET", "HEAD", "POST"]},
        "interval_minutes": {"type": "integer", "enum": [1, 5, 15, 60]},
        "timeout_seconds": {"type": "number"},
        "expected_status": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        "keyword": {"type": ["string", "null"]},
        "enabled": {"type": "boolean"},
        "state": _STATE,
        "last_checked_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

STATUS = {
    "type": "object",
    "required": ["generated_at", "counts", "monitors"],
    "properties": {
        "generated_at": {"type": "string", "format": "date-time"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "monitors": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "name", "state", "uptime_24h", "uptime_7d", "last_latency_ms"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "state": _STATE,
                           "uptime_24h": _NULLABLE_NUMBER, "uptime_7d": _NULLABLE_NUMBER,
                           "last_latency_ms": _NULLABLE_NUMBER}}},
    },
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_NOT_FOUND = {"404": _json({"$ref": "#/components/schemas/Error"}, "No such monitor")}
# With VIGIL_PUBLIC_READS=false every read needs a session.
_UNAUTHORIZED = {"401": _json({"$ref": "#/components/schemas/Error"}, "Login required")}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "Vigil API", "version": "1.0.0",
             "description": "Read-only access to monitors and their status."},
    "servers": [{"url": "/"}],
    "paths": {
        "/api/v1/monitors": {"get": {
            "operationId": "listMonitors", "summary": "Every monitor",
            "responses": {"200": _json({"type": "object", "required": ["monitors"], "properties": {
                "monitors": {"type": "array", "items": {"$ref": "#/components/schemas/Monitor"}}}},
                "The monitors, by name"), **_UNAUTHORIZED}}},
        "/api/v1/monitors/{monitor_id}": {"get": {
            "operationId": "getMonitor", "summary": "One monitor",
            "parameters": [{"name": "monitor_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "responses": {"200": _json({"$ref": "#/components/schemas/Monitor"}, "The monitor"),
                          **_NOT_FOUND, **_UNAUTHORIZED}}},
        "/api/v1/status": {"get": {
            "operationId": "getStatus", "summary": "State and uptime of every monitor",
            "responses": {"200": _json({"$ref": "#/components/schemas/Status"}, "The summary"),
                          **_UNAUTHORIZED}}},
    },
    "components": {"schemas": {"Monitor": MONITOR, "Status": STATUS, "Error": _ERROR}},
}
