"""The monitor, declared once: its fields, limits, defaults, labels and messages.

Everything else takes them from here:
- the JSON API validates bodies with ``MonitorSettings`` (app/web/api_input.py) and
  answers with ``monitor_record`` (app/web/api.py);
- the OpenAPI document's Monitor and MonitorInput are this module's JSON Schema
  (``json_schemas``, used by app/web/openapi.py);
- the HTML form (app/web/forms.py) keeps Flask-WTF for CSRF, rendering and parsing text,
  but takes its labels, defaults and choices from here and hands the parsed values to
  ``MonitorSettings`` too, so the UI and the API accept and refuse the same values with the
  same messages;
- the table's column sizes and defaults (app/models/monitor.py) and this declaration take
  their numbers from app/monitor_limits.py (plain values, so job pods need no pydantic).

Why pydantic v2: it is already installed (the kubernetes client needs it), it validates
strictly (``true`` is not a number, ``"5"`` is not an integer) and writes the JSON Schema
of what it validates. marshmallow with flask-smorest, or APIFlask, would bring a second
way of writing views and a schema layer that still could not drive the WTForms form.

Caveats:
- pydantic's ``Literal`` accepts ``True`` and ``5.0`` for ``5`` even in strict mode, so
  choices are strict integers or strings checked against a tuple (``_choice``), with
  the enum written into the JSON Schema by hand.
- Type errors ("Must be an integer.") only reach API callers: the form parses text
  itself and reports what it cannot parse in WTForms' words.
- Whether a chosen channel exists is a question for the database, asked when saving
  (monitor_service.UnknownChannel), not here.
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Annotated, Any, Iterable
from urllib.parse import urlsplit

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints, ValidationError,
                      WithJsonSchema, WrapValidator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.field_errors import FieldErrors
from app.monitor_limits import (CHECKS_IN_A_ROW_RANGE, DEFAULTS, INTERVALS_MINUTES, KEYWORD_MAX, METHODS, NAME_MAX,
                                REMINDER_MINUTES_RANGE, STATES, STATUS_RANGE, TIMEOUT_RANGE, URL_MAX)


@dataclass(frozen=True)
class Says:
    """What a field says when it refuses a value (`invalid`: out of range, too long, ...)
    and when it is left empty (`missing`)."""
    invalid: str
    missing: str | None = None


def _refuse(message: str):
    return PydanticCustomError("vigil", message)


CONTROL_CHARS_REFUSED = "Control characters are not allowed."


def has_control_chars(text: str | None) -> bool:
    return bool(text) and any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _no_control_chars(value: str | None) -> str | None:
    if has_control_chars(value):
        raise _refuse(CONTROL_CHARS_REFUSED)
    return value


def _http_url(value: str) -> str:
    """Only absolute http(s) URLs with a host; no credentials embedded in them."""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise _refuse("This is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise _refuse("Use an http:// or https:// URL.")
    if not parts.hostname:
        raise _refuse("The URL needs a host name.")
    if parts.username or parts.password:
        raise _refuse("Put no user name or password in the URL.")
    if any(ch.isspace() for ch in value):
        raise _refuse("A URL cannot contain spaces.")
    if port == 0:
        raise _refuse("Port 0 is not a valid port.")
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        if not all(part and len(part) <= 63 for part in parts.hostname.split(".")):
            raise _refuse("The host name is not valid.") from None
    return value


def _choice(values: tuple, kind: type):
    """A strict `kind` that must be one of `values` (see the module's caveat on Literal)."""
    def check(value):
        if value not in values:
            raise _refuse("Choose one of " + ", ".join(map(str, values)) + ".")
        return value
    schema_type = "integer" if kind is int else "string"
    return Annotated[kind, Strict(), AfterValidator(check), WithJsonSchema({"type": schema_type, "enum": list(values)})]


def _text(max_length: int, *, required: bool):
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1 if required else 0,
                                            max_length=max_length), AfterValidator(_no_control_chars)]


def _between(bounds: tuple, unit: str, **extra: Any) -> dict[str, Any]:
    """The Field arguments of a number in `bounds`, and a Says naming them."""
    return {"ge": bounds[0], "le": bounds[1], **extra}, f"Choose between {bounds[0]} and {bounds[1]} {unit}"


_TIMEOUT, _TIMEOUT_SAYS = _between(TIMEOUT_RANGE, "seconds", allow_inf_nan=False)
_CHECKS, _CHECKS_SAYS = _between(CHECKS_IN_A_ROW_RANGE, "checks")
_REMINDER, _REMINDER_SAYS = _between(REMINDER_MINUTES_RANGE, "minutes")
StatusCode = Annotated[int, Field(ge=STATUS_RANGE[0], le=STATUS_RANGE[1])]
_OUT_OF_ORDER = "The upper bound must not be below the lower one."


def _in_order(value: Any, handler) -> list[int]:
    """The status range's bounds in order. Checked even when a bound is also out of range,
    so "50 below 200" is told both things at once (pydantic stops at a field's first error)."""
    try:
        low, high = bounds = handler(value)
    except ValidationError as exc:
        details = [InitErrorDetails(type=error["type"], loc=error["loc"], input=error["input"],
                                    ctx=error.get("ctx", {})) for error in exc.errors()]
        if isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value) and value[1] < value[0]:
            details.append(InitErrorDetails(type=_refuse(_OUT_OF_ORDER), loc=(1,), input=value))
        raise ValidationError.from_exception_data("expected_status", details) from None
    if high < low:
        raise _refuse(_OUT_OF_ORDER)
    return bounds
ChannelId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a BIGINT id at most


def _no_default_in_schema(schema: dict) -> None:
    schema.pop("default", None)


class MonitorSettings(BaseModel):
    """What a user sets: the form's fields and the API's writable ones. Without channel_ids
    (None), a new monitor gets the default channels and an edit keeps its own."""
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_serialization_defaults_required=True)

    name: Annotated[_text(NAME_MAX, required=True),
                    Says(f"Use at most {NAME_MAX} characters.", "Give the monitor a name.")] = Field(title="Name")
    url: Annotated[_text(URL_MAX, required=True), AfterValidator(_http_url),
                   Says(f"Use at most {URL_MAX} characters.", "Enter the URL to check.")] = Field(
        title="URL", json_schema_extra={"format": "uri"})
    method: _choice(METHODS, str) = Field(DEFAULTS["method"], title="Method")
    interval_minutes: _choice(INTERVALS_MINUTES, int) = Field(
        DEFAULTS["interval_minutes"], title="Check every", description="Minutes between checks")
    timeout_seconds: Annotated[float, Says(_TIMEOUT_SAYS + ".", "Enter a timeout.")] = Field(
        DEFAULTS["timeout_seconds"], title="Timeout (seconds)", **_TIMEOUT)
    expected_status: Annotated[list[StatusCode], WrapValidator(_in_order), Says(
        f"A status code is between {STATUS_RANGE[0]} and {STATUS_RANGE[1]}.", "Enter a status code.")] = Field(
        default_factory=lambda: list(DEFAULTS["expected_status"]), min_length=2, max_length=2,
        title="Expected status", description="The lowest and the highest status code that count as up",
        json_schema_extra={"default": list(DEFAULTS["expected_status"])})  # pydantic leaves a factory's out
    keyword: Annotated[_text(KEYWORD_MAX, required=False) | None, Says(f"Use at most {KEYWORD_MAX} characters."),
                       AfterValidator(lambda value: value or None)] = Field(
        DEFAULTS["keyword"], title="Keyword in the body (optional)",
        description="The check fails unless the body contains it")
    enabled: bool = Field(DEFAULTS["enabled"], title="Enabled")
    down_after: Annotated[int, Says(_CHECKS_SAYS + ".", "Enter a number of checks.")] = Field(
        DEFAULTS["down_after"], title="Down after N failed checks in a row", **_CHECKS)
    up_after: Annotated[int, Says(_CHECKS_SAYS + ".", "Enter a number of checks.")] = Field(
        DEFAULTS["up_after"], title="Up after M good checks in a row", **_CHECKS)
    notify_recovery: bool = Field(DEFAULTS["notify_recovery"], title="Notify on recovery")
    renotify_minutes: Annotated[int | None, Says(_REMINDER_SAYS + ", or leave empty for no reminders.")] = Field(
        DEFAULTS["renotify_minutes"], title="Remind every K minutes while down (optional)", **_REMINDER)
    channel_ids: Annotated[list[ChannelId], Says("There is no channel with this id.")] = Field(
        None, title="Channels", description="Ids of the channels to notify", json_schema_extra=_no_default_in_schema)

    def columns(self) -> dict[str, Any]:
        """The values as the monitors table stores them (channels are a relation, not a column)."""
        values = self.model_dump(exclude={"expected_status", "channel_ids"})
        values["expected_status_min"], values["expected_status_max"] = self.expected_status
        return values


class MonitorRecord(MonitorSettings):
    """A monitor as the API shows it: its settings and what Vigil keeps."""
    id: int
    channel_ids: list[ChannelId] = Field(title="Channels")
    state: _choice(STATES, str)
    last_checked_at: Annotated[str | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})]


# Fields the server owns: a client that writes them is told so.
READ_ONLY = tuple(name for name in MonitorRecord.model_fields if name not in MonitorSettings.model_fields)


def monitor_record(monitor, *, state: str, last_checked_at: str | None) -> dict[str, Any]:
    """The API's JSON of a Monitor row: its settings, field by field, and what Vigil keeps."""
    record = {name: getattr(monitor, name) for name in MonitorSettings.model_fields
              if name not in ("expected_status", "channel_ids")}
    record["expected_status"] = [monitor.expected_status_min, monitor.expected_status_max]
    record["channel_ids"] = [channel.id for channel in monitor.channels]
    return {"id": monitor.id, **record, "state": state, "last_checked_at": last_checked_at}


def settings_of(record: dict[str, Any]) -> dict[str, Any]:
    """The writable part of a monitor_record: the base a PATCH is laid over."""
    return {key: value for key, value in record.items() if key in MonitorSettings.model_fields}


# What a value of the wrong JSON type is told, by the type the field wants.
_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "array": "a list", "null": "null"}
_TYPE_ERRORS = {"string_type", "int_type", "float_type", "bool_type", "list_type", "int_from_float",
                "int_parsing", "float_parsing", "bool_parsing", "dict_type"}


def _field_schema(name: str) -> dict:
    return json_schemas()["MonitorRecord"]["properties"][name]


def _type_message(name: str) -> str:
    schema = _field_schema(name)
    kinds = schema.get("type", "object")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if kinds[0] == "array" and name == "channel_ids":
        words = "a list of channel ids (integers)"
    elif kinds[0] == "array":
        words = "a list of two integers"
    else:
        words = " or ".join(_TYPE_WORDS[kind] for kind in kinds)
    return f"Must be {words}."


def says(name: str) -> Says | None:
    field = MonitorSettings.model_fields.get(name)
    return next((item for item in field.metadata if isinstance(item, Says)), None) if field else None


def message_for(error: dict, *, name: str) -> str:
    """One pydantic error of field `name` in Vigil's words."""
    kind, value, said = error["type"], error.get("input"), says(name)
    if kind == "extra_forbidden":
        return "This field is set by Vigil and cannot be written." if name in READ_ONLY else "Unknown field."
    if kind == "vigil":
        return error["msg"]
    if said and said.missing and kind in ("missing", "string_too_short"):
        return said.missing
    if kind == "missing":
        return "This field is required."
    if kind in _TYPE_ERRORS and not (kind == "float_type" and isinstance(value, int) and not isinstance(value, bool)):
        return _type_message(name)
    if kind in ("too_short", "too_long") and name == "expected_status":
        return "Give two status codes: the lowest and the highest."
    return said.invalid if said else error["msg"]


def located_errors(exc: ValidationError) -> list[tuple[tuple, str]]:
    """The errors of a MonitorSettings validation in Vigil's words, each with its place:
    (field,) or (field, index)."""
    found = []
    for error in exc.errors():
        place = tuple(error["loc"])
        found.append((place, message_for(error, name=str(place[0]))))
    return found


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """The API's ``fields``: messages per field, each once."""
    fields: dict[str, list[str]] = {}
    for (name, *_), message in located_errors(exc):
        if message not in fields.setdefault(name, []):
            fields[name].append(message)
    return fields


def validate(values: dict[str, Any]) -> MonitorSettings:
    """`values` as MonitorSettings, or FieldErrors."""
    try:
        return MonitorSettings.model_validate(values)
    except ValidationError as exc:
        raise FieldErrors(field_errors(exc), located_errors(exc)) from None


def _nullable_as_type_list(node: Any) -> Any:
    """pydantic writes ``X | None`` as anyOf [X, null]; the document writes type: [X, "null"]."""
    if isinstance(node, list):
        return [_nullable_as_type_list(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_as_type_list(value) for key, value in node.items()}
    branches = node.get("anyOf")
    if branches and len(branches) == 2 and {"type": "null"} in branches:
        other = next(branch for branch in branches if branch != {"type": "null"})
        if isinstance(other.get("type"), str):
            del node["anyOf"]
            node = {**other, **node, "type": [other["type"], "null"]}
    return node


@functools.cache
def json_schemas() -> dict[str, dict]:
    """The JSON Schemas of MonitorRecord (what the API answers) and MonitorSettings (what it
    takes, without `required`: a PATCH takes any subset, a POST needs required_on_create())."""
    settings = _nullable_as_type_list(MonitorSettings.model_json_schema(mode="validation"))
    return {"MonitorRecord": _nullable_as_type_list(MonitorRecord.model_json_schema(mode="serialization")),
            "MonitorSettings": {key: value for key, value in settings.items() if key != "required"}}


def required_on_create() -> list[str]:
    return list(MonitorSettings.model_json_schema(mode="validation")["required"])


def form_choices(name: str) -> Iterable:
    """The choices of a choice field, for the form's select boxes."""
    return _field_schema(name)["enum"]


def default(name: str) -> Any:
    return MonitorSettings.model_fields[name].get_default(call_default_factory=True)


def title(name: str) -> str:
    return MonitorSettings.model_fields[name].title

