"""Refusals that name the fields they are about, shared by services, pages and the API.

A service raises one (a taken name, a channel that does not exist, a URL Apprise refuses,
an invalid window); the API answers with ``status`` (422, or 409 for a taken name) and
``fields``, and a page puts each message under its box. One type, so every caller handles
every refusal alike, and each message is written once, where the rule is.
"""
from __future__ import annotations


class FieldErrors(ValueError):
    """Messages per field, in the API's ``fields`` shape; `located` keeps each one's place
    ((field,) or (field, index)) for forms that show a list's items in separate boxes."""
    status = 422

    def __init__(self, fields: dict[str, list[str]], located: list[tuple[tuple, str]] = ()) -> None:
        super().__init__(" ".join(message for messages in fields.values() for message in messages))
        self.fields = fields
        self.located = list(located)


def on_field(name: str, message: str) -> dict[str, list[str]]:
    return {name: [message]}


class NameTaken(FieldErrors):
    """Another `noun` already has this name (names are unique whatever their case)."""
    status = 409

    def __init__(self, noun: str) -> None:
        super().__init__(on_field("name", f"Another {noun} already has this name."))
        self.noun = noun
