"""The OpenAPI 3.1 document of /api/v1.

The monitor's schemas (Monitor, MonitorInput) are generated from its declaration
(app/monitor_schema.py), which the API and the HTML form validate with. The rest, a
score of small endpoints and the channel and window shapes, is written here.
tests/unit/test_api_contract.py validates live responses against the document, and
tests/unit/test_api_sweep.py sends requests drawn from it, so it cannot drift from the code.
"""
from __future__ import annotations

from app import monitor_schema
from app.web.hooks import PUBLIC_MONITOR_FIELDS

_NULLABLE_NUMBER = {"type": ["number", "null"]}
_STATE = {"type": "string", "enum": list(monitor_schema.STATES)}
_ERROR = {"type": "object", "required": ["error", "status"],
          "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                         "fields": {"type": "object", "description": "Messages per invalid field",
                                    "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}
_IDS = {"type": "array", "items": {"type": "integer", "minimum": 1}}
_DATE_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}

MONITOR = monitor_schema.json_schemas()["MonitorRecord"]

# What an anonymous caller gets (VIGIL_PUBLIC_READS on, no session or token): no URL (it
# may carry a token), method, keyword or other settings. Closed, so a full Monitor never
# passes for one and `oneOf` below tells them apart.
MONITOR_PUBLIC = {
    "type": "object",
    "additionalProperties": False,
    "required": list(PUBLIC_MONITOR_FIELDS),
    "properties": {key: MONITOR["properties"][key] for key in PUBLIC_MONITOR_FIELDS},
}

# What a client may write: POST needs the fields without a default (name and url); PATCH takes
# any subset. Unknown and server-owned fields, and ids of channels that do not exist, are refused.
MONITOR_INPUT = monitor_schema.json_schemas()["MonitorSettings"]

# A line of a monitor's notification log: never the message (it holds the monitor's URL).
NOTIFICATION = {
    "type": "object",
    "required": ["id", "event", "channel_id", "channel_name", "status", "attempts", "last_error",
                 "created_at", "sent_at", "next_attempt_at"],
    "properties": {
        "id": {"type": "integer"},
        "event": {"type": "string", "enum": ["down", "up", "reminder"]},
        "channel_id": {"type": "integer"},
        "channel_name": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "sending", "sent", "failed"]},
        "attempts": {"type": "integer", "minimum": 0},
        "last_error": {"type": ["string", "null"]},
        "created_at": _DATE_TIME,
        "sent_at": _NULLABLE_DATE_TIME,
        "next_attempt_at": {**_NULLABLE_DATE_TIME, "description": "When a pending one is tried next"},
    },
}

# A channel as it is shown: never its URL, which holds its secret; `url_redacted` has the
# passwords and tokens masked and the path and query cut.
CHANNEL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "kind", "url_redacted", "is_default"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "maxLength": 100},
        "kind": {"type": "string", "description": "The Apprise URL's scheme: json, mailto, slack, ..."},
        "url_redacted": {"type": "string"},
        "is_default": {"type": "boolean"},
    },
}

# POST needs name and url; a PATCH without url keeps the saved one. Apprise must accept the URL.
CHANNEL_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "url": {"type": "string", "minLength": 1, "maxLength": 2000},
        "is_default": {"type": "boolean", "default": False},
    },
}

CHANNEL_TEST = {
    "type": "object", "additionalProperties": False, "required": ["ok", "error"],
    "properties": {"ok": {"type": "boolean"},
                   "error": {"type": ["string", "null"], "description": "Why the service refused it"}},
}

STATUS = {
    "type": "object",
    "required": ["generated_at", "counts", "monitors"],
    "properties": {
        "generated_at": _DATE_TIME,
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


_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_MONITOR_REF = {"$ref": "#/components/schemas/Monitor"}
# Reads: the whole monitor for a signed-in caller (session or token), else MonitorPublic.
_MONITOR_READ = {"oneOf": [_MONITOR_REF, {"$ref": "#/components/schemas/MonitorPublic"}]}
_NOT_FOUND = {"404": _json(_ERROR_REF, "No such monitor")}
_NO_CHANNEL = {"404": _json(_ERROR_REF, "No such channel")}
_CHANNEL_REF = {"$ref": "#/components/schemas/Channel"}
# With VIGIL_PUBLIC_READS=false every read needs a session or a token.
_UNAUTHORIZED = {"401": _json(_ERROR_REF, "Login or API token required")}
_MONITOR_ID = [{"name": "monitor_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1}}]
_CHANNEL_ID = [{"name": "channel_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1}}]
# What the request gate (app/web/body_gate.py) may answer on any path, before the operation.
_GATE_ERRORS = {
    "414": _json(_ERROR_REF, "The request line is longer than 4094 bytes"),
    "431": _json(_ERROR_REF, "A header line is longer than 8190 bytes, or all of them than 32 KiB"),
}
# ... and on any request with a body (POST, PATCH, DELETE).
_BODY_ERRORS = {
    "400": _json(_ERROR_REF, "The body is not a JSON object: not UTF-8, not JSON (a repeated key is "
                             "refused), or nested more than 32 levels deep"),
    "413": _json(_ERROR_REF, "The body is larger than the server's VIGIL_MAX_BODY_BYTES, "
                             "whether sent with Content-Length or chunked"),
    "422": _json(_ERROR_REF, "Invalid fields, or text that is not Unicode (a lone surrogate such as "
                             "\\ud800), with a message for each in `fields`"),
}
_WRITE_ERRORS = {
    **_BODY_ERRORS,
    "401": _json(_ERROR_REF, "No valid API token"),
    "409": _json(_ERROR_REF, "Another monitor has this name"),
}
_CHANNEL_WRITE_ERRORS = {**_WRITE_ERRORS, "409": _json(_ERROR_REF, "Another channel has this name")}
_TOKEN_ONLY = {**_BODY_ERRORS, "401": _WRITE_ERRORS["401"]}
_TOKEN = [{"apiToken": []}]


def _body(schema: dict, required: list[str] | None = None) -> dict:
    return {"required": True, "content": {"application/json": {
        "schema": {**schema, "required": required} if required else schema}}}


def _switch(operation_id: str, summary: str) -> dict:
    """Pause or resume: a POST that takes no body and answers with the monitor."""
    return {"operationId": operation_id, "summary": summary, "parameters": _MONITOR_ID, "security": _TOKEN,
            "responses": {"200": _json(_MONITOR_REF, "The monitor as it is now"), **_NOT_FOUND, **_TOKEN_ONLY}}


# Maintenance windows (app/web/api_windows.py): one-off (starts_at to ends_at) or recurring (a cron
# expression read in `timezone`, each occurrence lasting duration_minutes). Reads need a login or a
# token too; times are RFC 3339, with an offset or Z on the way in and in UTC (Z) on the way out.
_WINDOW_KIND = {"type": "string", "enum": ["one_off", "recurring"]}
_WINDOW_MINUTES = {"type": ["integer", "null"], "minimum": 1, "maximum": 10080}
MAINTENANCE_WINDOW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "kind", "starts_at", "ends_at", "cron", "duration_minutes", "timezone",
                 "all_monitors", "monitor_ids", "active_now", "active_until", "next_start", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "maxLength": 100},
        "kind": _WINDOW_KIND,
        "starts_at": {**_NULLABLE_DATE_TIME, "description": "One-off windows: the start"},
        "ends_at": {**_NULLABLE_DATE_TIME, "description": "One-off windows: the end (not covered)"},
        "cron": {"type": ["string", "null"], "description": "Recurring windows: five fields, read in `timezone`"},
        "duration_minutes": {**_WINDOW_MINUTES, "description": "Recurring windows: how long each occurrence lasts"},
        "timezone": {"type": "string", "description": "An IANA name, such as Europe/Berlin"},
        "all_monitors": {"type": "boolean"},
        "monitor_ids": {**_IDS, "description": "Empty when all_monitors is true"},
        "active_now": {"type": "boolean", "description": "Whether alerts for its monitors are held back now"},
        "active_until": {**_NULLABLE_DATE_TIME, "description": "The end of the occurrence in force now"},
        "next_start": {**_NULLABLE_DATE_TIME, "description": "The next start after now; null if none"},
        "created_at": _DATE_TIME,
    },
}

# POST needs name and either starts_at and ends_at, or cron and duration_minutes; a one-off
# window lasts at most 31 days. Without `kind`, a POST is recurring when it has cron or
# duration_minutes; a PATCH keeps the window's kind. Fields of the other kind are refused.
MAINTENANCE_WINDOW_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "kind": _WINDOW_KIND,
        "starts_at": _NULLABLE_DATE_TIME,
        "ends_at": _NULLABLE_DATE_TIME,
        "cron": {"type": ["string", "null"], "maxLength": 100},
        "duration_minutes": _WINDOW_MINUTES,
        "timezone": {"type": "string", "default": "UTC"},
        "all_monitors": {"type": "boolean", "default": False},
        "monitor_ids": _IDS,
    },
}
_WINDOW_REF = {"$ref": "#/components/schemas/MaintenanceWindow"}
_WINDOW_INPUT_REF = {"$ref": "#/components/schemas/MaintenanceWindowInput"}
_NO_WINDOW = {"404": _json(_ERROR_REF, "No such maintenance window")}
_WINDOW_ID = [{"name": "window_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}]
WINDOW_PATHS = {
    "/api/v1/maintenance-windows": {
        "get": {
            "operationId": "listMaintenanceWindows", "summary": "Every maintenance window (needs a login or token)",
            "responses": {"200": _json({"type": "object", "required": ["windows"], "properties": {
                "windows": {"type": "array", "items": _WINDOW_REF}}}, "The windows, by name"), **_UNAUTHORIZED}},
        "post": {
            "operationId": "createMaintenanceWindow", "summary": "Add a maintenance window", "security": _TOKEN,
            "requestBody": _body(_WINDOW_INPUT_REF, ["name"]),
            "responses": {"201": {**_json(_WINDOW_REF, "The new window"), "headers": {
                "Location": {"schema": {"type": "string"}, "description": "Its address in the API"}}},
                **_TOKEN_ONLY}}},
    "/api/v1/maintenance-windows/{window_id}": {
        "get": {
            "operationId": "getMaintenanceWindow", "summary": "One maintenance window", "parameters": _WINDOW_ID,
            "responses": {"200": _json(_WINDOW_REF, "The window"), **_NO_WINDOW, **_UNAUTHORIZED}},
        "patch": {
            "operationId": "updateMaintenanceWindow", "summary": "Change some fields of a maintenance window",
            "parameters": _WINDOW_ID, "security": _TOKEN, "requestBody": _body(_WINDOW_INPUT_REF),
            "responses": {"200": _json(_WINDOW_REF, "The window as changed"), **_NO_WINDOW, **_TOKEN_ONLY}},
        "delete": {
            "operationId": "deleteMaintenanceWindow", "summary": "Delete a maintenance window",
            "parameters": _WINDOW_ID, "security": _TOKEN,
            "responses": {"204": {"description": "Deleted"}, **_NO_WINDOW, **_TOKEN_ONLY}}},
}


OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {"title": "Vigil API", "version": "1.3.0",
             "description": "Monitors, their status and notification logs, notification channels and "
                            "maintenance windows. Channels, maintenance windows and notification logs need "
                            "a session or an API token, reads too; "
                            "a channel's URL is never returned, only `url_redacted`. Other reads follow the server's VIGIL_PUBLIC_READS: "
                            "when on, anonymous callers get each monitor as MonitorPublic (no URL or "
                            "settings), signed-in callers (session or API token) the whole Monitor; "
                            "writes need an API token (`flask --app app vigil token create USER`)."},
    "servers": [{"url": "/"}],
    "paths": {
        "/api/v1/monitors": {
            "get": {
                "operationId": "listMonitors", "summary": "Every monitor",
                "responses": {"200": _json({"type": "object", "required": ["monitors"], "properties": {
                    "monitors": {"type": "array", "items": _MONITOR_READ}}},
                    "The monitors, by name; anonymous callers get each as MonitorPublic"), **_UNAUTHORIZED}},
            "post": {
                "operationId": "createMonitor", "summary": "Add a monitor", "security": _TOKEN,
                "requestBody": _body({"$ref": "#/components/schemas/MonitorInput"}, monitor_schema.required_on_create()),
                "responses": {"201": {**_json(_MONITOR_REF, "The new monitor"), "headers": {
                    "Location": {"schema": {"type": "string"}, "description": "Its address in the API"}}},
                    **_WRITE_ERRORS}}},
        "/api/v1/monitors/{monitor_id}": {
            "get": {
                "operationId": "getMonitor", "summary": "One monitor", "parameters": _MONITOR_ID,
                "responses": {"200": _json(_MONITOR_READ, "The monitor; MonitorPublic for anonymous callers"),
                              **_NOT_FOUND, **_UNAUTHORIZED}},
            "patch": {
                "operationId": "updateMonitor", "summary": "Change some fields of a monitor",
                "parameters": _MONITOR_ID, "security": _TOKEN,
                "requestBody": _body({"$ref": "#/components/schemas/MonitorInput"}),
                "responses": {"200": _json(_MONITOR_REF, "The monitor as changed"), **_NOT_FOUND,
                              **_WRITE_ERRORS}},
            "delete": {
                "operationId": "deleteMonitor", "summary": "Delete a monitor with its history",
                "parameters": _MONITOR_ID, "security": _TOKEN,
                "responses": {"204": {"description": "Deleted"}, **_NOT_FOUND, **_TOKEN_ONLY}}},
        "/api/v1/monitors/{monitor_id}/pause": {"post": _switch("pauseMonitor", "Pause: no checks, no alerts")},
        "/api/v1/monitors/{monitor_id}/resume": {"post": _switch("resumeMonitor", "Resume checking")},
        "/api/v1/monitors/{monitor_id}/notifications": {"get": {
            "operationId": "listNotifications", "parameters": _MONITOR_ID,
            "summary": "The monitor's notification log: the latest 50, newest first (never public)",
            "responses": {"200": _json({"type": "object", "required": ["notifications"], "properties": {
                "notifications": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}}}},
                "What was queued, sent or failed, to which channel"), **_NOT_FOUND, **_UNAUTHORIZED}}},
        "/api/v1/channels": {
            "get": {
                "operationId": "listChannels", "summary": "Every notification channel (needs a login or token)",
                "responses": {"200": _json({"type": "object", "required": ["channels"], "properties": {
                    "channels": {"type": "array", "items": _CHANNEL_REF}}}, "The channels, by name"),
                    **_UNAUTHORIZED}},
            "post": {
                "operationId": "createChannel", "summary": "Add a channel", "security": _TOKEN,
                "requestBody": _body({"$ref": "#/components/schemas/ChannelInput"}, ["name", "url"]),
                "responses": {"201": {**_json(_CHANNEL_REF, "The new channel"), "headers": {
                    "Location": {"schema": {"type": "string"}, "description": "Its address in the API"}}},
                    **_CHANNEL_WRITE_ERRORS}}},
        "/api/v1/channels/{channel_id}": {
            "get": {
                "operationId": "getChannel", "summary": "One channel", "parameters": _CHANNEL_ID,
                "responses": {"200": _json(_CHANNEL_REF, "The channel"), **_NO_CHANNEL, **_UNAUTHORIZED}},
            "patch": {
                "operationId": "updateChannel", "summary": "Change a channel; without url the saved one is kept",
                "parameters": _CHANNEL_ID, "security": _TOKEN,
                "requestBody": _body({"$ref": "#/components/schemas/ChannelInput"}),
                "responses": {"200": _json(_CHANNEL_REF, "The channel as changed"), **_NO_CHANNEL,
                              **_CHANNEL_WRITE_ERRORS}},
            "delete": {
                "operationId": "deleteChannel", "summary": "Delete a channel and its notification log",
                "parameters": _CHANNEL_ID, "security": _TOKEN,
                "responses": {"204": {"description": "Deleted"}, **_NO_CHANNEL, **_TOKEN_ONLY}}},
        "/api/v1/channels/{channel_id}/test": {"post": {
            "operationId": "testChannel", "summary": "Send a test message now (not through the outbox)",
            "parameters": _CHANNEL_ID, "security": _TOKEN,
            "responses": {"200": _json({"$ref": "#/components/schemas/ChannelTest"},
                                       "Whether the service took it; `error` says why not"),
                          **_NO_CHANNEL, **_TOKEN_ONLY}}},
        **WINDOW_PATHS,
        "/api/v1/status": {"get": {
            "operationId": "getStatus", "summary": "State and uptime of every monitor",
            "responses": {"200": _json({"$ref": "#/components/schemas/Status"}, "The summary"),
                          **_UNAUTHORIZED}}},
    },
    "components": {
        "schemas": {"Monitor": MONITOR, "MonitorPublic": MONITOR_PUBLIC, "MonitorInput": MONITOR_INPUT,
                    "Notification": NOTIFICATION, "Channel": CHANNEL, "ChannelInput": CHANNEL_INPUT,
                    "ChannelTest": CHANNEL_TEST, "MaintenanceWindow": MAINTENANCE_WINDOW,
                    "MaintenanceWindowInput": MAINTENANCE_WINDOW_INPUT, "Status": STATUS, "Error": _ERROR},
        "securitySchemes": {"apiToken": {"type": "http", "scheme": "bearer",
                                         "description": "A token from `vigil token create`"}},
    },
}

for _item in OPENAPI["paths"].values():
    for _operation in _item.values():
        _operation["responses"].update(_GATE_ERRORS)
