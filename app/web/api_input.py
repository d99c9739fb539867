"""JSON bodies of the write API.

Monitors are validated by their declaration (app/monitor_schema.py), strictly: each
field must have its documented JSON type (``true`` is not a number, ``"5"`` is not an
integer), unknown fields and the fields Vigil owns (id, state, last_checked_at) are
refused, and the limits and messages are the HTML form's, because the form hands its
values to the same declaration.

Channels are still validated by the UI's ChannelForm, after a type check here: WTForms
reads strings, so without it ``true`` would arrive as "True". A channel's kind and
url_redacted are Vigil's and refused.
"""
from __future__ import annotations

from typing import Any, Mapping

from werkzeug.datastructures import MultiDict

from app import monitor_schema
from app.field_errors import FieldErrors
from app.monitor_schema import MonitorSettings
from app.web.channel_forms import ChannelForm

__all__ = ["check_types", "monitor_settings", "channel_values"]

CHANNEL_READ_ONLY = ("id", "kind", "url_redacted")


_STRING = (lambda v: isinstance(v, str), "a string")
_BOOL = (lambda v: isinstance(v, bool), "true or false")
_CHANNEL_TYPES = {"name": _STRING, "url": _STRING, "is_default": _BOOL}


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


def monitor_settings(body: Mapping[str, Any], *, base: Mapping[str, Any]) -> MonitorSettings:
    """`body` laid over `base` (a PATCH's current settings, or nothing for a POST: the
    declaration's defaults), validated; FieldErrors otherwise. Without channel_ids in
    either, a new monitor gets the default channels."""
    return monitor_schema.validate({**base, **body})


def channel_values(body: Mapping[str, Any], *, base: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    """Validated keyword arguments for channel_service.save (name, url, is_default), or
    FieldErrors; `url` is None when the body has none (a PATCH keeps the saved URL)."""
    check_types(body, _CHANNEL_TYPES, CHANNEL_READ_ONLY)
    merged = {"is_default": False, **base, **body}
    data = MultiDict({key: merged[key] for key in ("name", "url") if merged.get(key) is not None})
    if merged["is_default"]:
        data["is_default"] = "y"
    form = ChannelForm(formdata=data, meta={"csrf": False}, creating=creating)
    if not form.validate():
        raise FieldErrors({name: list(messages) for name, messages in form.errors.items()})
    return {"name": form.name.data, "url": form.new_url, "is_default": form.is_default.data}
