"""JSON bodies of the write API, type-checked and handed to the UI's forms.

MonitorForm and ChannelForm stay the only validators of values, so the UI and the API
accept and reject the same input with the same messages. WTForms reads strings, though:
without a type check first, ``true`` would arrive as "True" and an interval of ``5.0``
or ``"5"`` would pass. So each JSON field must have its documented type (bool is not a
number here), then it is rendered as the form field's string. Unknown fields are
refused (a typo must not be ignored silently), and the fields the server owns (id,
state, last_checked_at; a channel's kind and url_redacted) are refused too.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from werkzeug.datastructures import MultiDict

from app.alerts.thresholds import DEFAULT_DOWN_AFTER, DEFAULT_UP_AFTER
from app.web.channel_forms import ChannelForm
from app.web.forms import MonitorForm

DEFAULTS: dict[str, Any] = {"method": "GET", "interval_minutes": 5, "timeout_seconds": 10.0,
                            "expected_status": [200, 399], "keyword": None, "enabled": True,
                            "down_after": DEFAULT_DOWN_AFTER, "up_after": DEFAULT_UP_AFTER,
                            "notify_recovery": True, "renotify_minutes": None}
READ_ONLY = ("id", "state", "last_checked_at")
CHANNEL_READ_ONLY = ("id", "kind", "url_redacted")


class FieldErrors(ValueError):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.fields = fields


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and not isinstance(value, bool)


_STRING = (lambda v: isinstance(v, str), "a string")
_BOOL = (lambda v: isinstance(v, bool), "true or false")
_INT = (_is_int, "an integer")

_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": _STRING,
    "url": _STRING,
    "method": _STRING,
    "interval_minutes": _INT,
    "timeout_seconds": (_is_number, "a number"),
    "expected_status": (lambda v: isinstance(v, list) and len(v) == 2 and all(map(_is_int, v)),
                        "a list of two integers"),
    "keyword": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "enabled": _BOOL,
    "down_after": _INT,
    "up_after": _INT,
    "notify_recovery": _BOOL,
    "renotify_minutes": (lambda v: v is None or _is_int(v), "an integer or null"),
    "channel_ids": (lambda v: isinstance(v, list) and all(map(_is_int, v)), "a list of channel ids (integers)"),
}
_CHANNEL_TYPES = {"name": _STRING, "url": _STRING, "is_default": _BOOL}

WRITABLE = tuple(_TYPES)  # the API's monitor fields a client may set


def check_types(body: Mapping[str, Any], types: Mapping[str, tuple], read_only: tuple[str, ...]) -> None:
    errors: dict[str, list[str]] = {}
    for key, value in body.items():
        if key in read_only:
            errors[key] = ["This field is set by Vigil and cannot be written."]
        elif key not in types:
            errors[key] = ["Unknown field."]
        elif not types[key][0](value):
            errors[key] = [f"Must be {types[key][1]}."]
    if errors:
        raise FieldErrors(errors)


def _validated(form, rename: Callable[[str], str] = lambda name: name) -> dict[str, Any]:
    if not form.validate():
        fields: dict[str, list[str]] = {}
        for name, messages in form.errors.items():
            fields.setdefault(rename(name), []).extend(messages)
        raise FieldErrors(fields)
    return {key: value for key, value in form.data.items() if key != "csrf_token"}


def monitor_values(body: Mapping[str, Any], *, base: Mapping[str, Any]) -> dict[str, Any]:
    """Validated values for monitor_service.save: `body` laid over `base`, or FieldErrors.
    Without channel_ids in either, the values have none (a new monitor gets the defaults)."""
    check_types(body, _TYPES, READ_ONLY)
    merged = {**base, **body}
    data = MultiDict()
    for key in ("name", "url", "method", "interval_minutes", "timeout_seconds", "down_after", "up_after",
                "renotify_minutes"):
        if merged.get(key) is not None:
            data[key] = str(merged[key])
    low, high = merged["expected_status"]
    data["expected_status_min"], data["expected_status_max"] = str(low), str(high)
    data["keyword"] = merged["keyword"] or ""
    for flag in ("enabled", "notify_recovery"):
        if merged[flag]:
            data[flag] = "y"
    data.setlist("channel_ids", [str(i) for i in merged.get("channel_ids", ())])
    values = _validated(MonitorForm(formdata=data, meta={"csrf": False}),
                        lambda name: "expected_status" if name.startswith("expected_status") else name)
    if "channel_ids" not in merged:
        del values["channel_ids"]
    return values


def channel_values(body: Mapping[str, Any], *, base: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    """Validated keyword arguments for channel_service.save (name, url, is_default), or
    FieldErrors; `url` is None when the body has none (a PATCH keeps the saved URL)."""
    check_types(body, _CHANNEL_TYPES, CHANNEL_READ_ONLY)
    merged = {"is_default": False, **base, **body}
    data = MultiDict({key: merged[key] for key in ("name", "url") if merged.get(key) is not None})
    if merged["is_default"]:
        data["is_default"] = "y"
    form = ChannelForm(formdata=data, meta={"csrf": False}, creating=creating)
    _validated(form)
    return {"name": form.name.data, "url": form.new_url, "is_default": form.is_default.data}
