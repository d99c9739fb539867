"""JSON bodies of the write API, type-checked and handed to the monitor form.

MonitorForm stays the only validator of values, so the UI and the API accept and
reject the same input with the same messages. WTForms reads strings, though:
without a type check first, ``true`` would arrive as "True" and an interval of
``5.0`` or ``"5"`` would pass. So each JSON field must have its documented type
(bool is not a number here), then it is rendered as the form field's string.
Unknown fields are refused (a typo must not be ignored silently), and the fields
the server owns (id, state, last_checked_at) are refused too.
"""
from __future__ import annotations

from typing import Any, Mapping

from werkzeug.datastructures import MultiDict

from app.web.forms import MonitorForm

DEFAULTS: dict[str, Any] = {"method": "GET", "interval_minutes": 5, "timeout_seconds": 10.0,
                            "expected_status": [200, 399], "keyword": None, "enabled": True}
READ_ONLY = ("id", "state", "last_checked_at")


class FieldErrors(ValueError):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid monitor")
        self.fields = fields


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and not isinstance(value, bool)


_TYPES = {
    "name": (lambda v: isinstance(v, str), "a string"),
    "url": (lambda v: isinstance(v, str), "a string"),
    "method": (lambda v: isinstance(v, str), "a string"),
    "interval_minutes": (_is_int, "an integer"),
    "timeout_seconds": (_is_number, "a number"),
    "expected_status": (lambda v: isinstance(v, list) and len(v) == 2 and all(map(_is_int, v)),
                        "a list of two integers"),
    "keyword": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "enabled": (lambda v: isinstance(v, bool), "true or false"),
}


WRITABLE = tuple(_TYPES)  # the API's monitor fields a client may set


def monitor_values(body: Mapping[str, Any], *, base: Mapping[str, Any]) -> dict[str, Any]:
    """Validated values for monitor_service.save: `body` laid over `base`, or FieldErrors."""
    errors: dict[str, list[str]] = {}
    for key, value in body.items():
        if key in READ_ONLY:
            errors[key] = ["This field is set by Vigil and cannot be written."]
        elif key not in _TYPES:
            errors[key] = ["Unknown field."]
        elif not _TYPES[key][0](value):
            errors[key] = [f"Must be {_TYPES[key][1]}."]
    if errors:
        raise FieldErrors(errors)
    merged = {**base, **body}
    data = MultiDict()
    for key in ("name", "url", "method", "interval_minutes", "timeout_seconds"):
        if merged.get(key) is not None:
            data[key] = str(merged[key])
    low, high = merged["expected_status"]
    data["expected_status_min"], data["expected_status_max"] = str(low), str(high)
    data["keyword"] = merged["keyword"] or ""
    if merged["enabled"]:
        data["enabled"] = "y"
    form = MonitorForm(formdata=data, meta={"csrf": False})
    if not form.validate():
        fields: dict[str, list[str]] = {}
        for name, messages in form.errors.items():
            key = "expected_status" if name.startswith("expected_status") else name
            fields.setdefault(key, []).extend(messages)
        raise FieldErrors(fields)
    return {key: value for key, value in form.data.items() if key != "csrf_token"}
