"""Strict JSON for request bodies: bounded nesting, RFC 8259 only, Unicode text only.

``parse(text)`` returns the value of a JSON document or raises ``JSONRefused``
with the HTTP status, a message for people and, for text that is not Unicode,
the path of every field at fault (``name``, ``expected_status[0]``).

Guarantees:
- nesting deeper than ``MAX_DEPTH`` arrays or objects is refused (400) before the
  parser runs, by a linear scan that never recurses, so no body can raise
  RecursionError (the stdlib parser recurses once per level and gives up near
  1000 levels);
- a key repeated in one object (where the last one would silently win) is refused (400);
- a string or key holding a lone UTF-16 surrogate (``"\\ud800"``, legal JSON
  escapes but not Unicode text) is refused (422) with the field named, so it never
  reaches a database driver, which cannot encode it (UnicodeEncodeError, a 500);
- integers longer than Python's 4300-digit limit are refused (400).

Caveats: numbers keep Python's meaning (``1e400`` is ``inf``), and the stdlib's
``NaN``, ``Infinity`` and ``-Infinity`` literals (not JSON) are read as floats:
whether a number fits a field is for the field's validator (the monitor form),
which refuses all of these with 422 and a message on the field.
The byte size of the document is bounded by the body gate (app/web/body_gate.py).

Why it is written here and not taken from a library: the stdlib parser is kept
(Flask parses with it again later, so both agree on every accepted document) and
only what it lacks is added. orjson refuses deep nesting (at 1024 levels)
and surrogates too, but it is a compiled runtime dependency, and its errors
give a byte offset where the API promises a message per field.
"""
from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 32  # a monitor is 2 levels deep; 32 leaves room and stays far below recursion limits

SURROGATE_MESSAGE = ("This text holds a lone UTF-16 surrogate (such as \\ud800), which is not Unicode text. "
                     "Send valid Unicode.")

# One token at a time: a whole string (escapes included), a bracket, or a run of anything else.
# An unterminated string falls through to the lone quote, where the scan stops: the document
# is invalid JSON anyway and the parser says so.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]|[^"\[\]{}]+|"', re.S)


class JSONRefused(ValueError):
    def __init__(self, status: int, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, ignoring brackets inside strings."""
    steps = []
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == '"':
            break
        if token in "[{":
            steps.append(1)
        elif token in "]}":
            steps.append(-1)
    return max(accumulate(steps), default=0)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONRefused(400, f"the body is not valid JSON: the key {_shown(key)} appears twice in one object")
        result[key] = value
    return result


def _shown(key: str) -> str:
    """A key as printable ASCII-safe text for a message, surrogates escaped."""
    return json.dumps(key)


def is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = key if is_unicode(key) else "".join(ch if is_unicode(ch) else f"\\u{ord(ch):04x}" for ch in key)
    return f"{path}.{name}" if path else name


def non_unicode_fields(value: Any) -> list[str]:
    """Paths of every string or key in `value` that is not Unicode text, without recursion."""
    bad: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if not is_unicode(node):
                bad.append(path or "(body)")
        elif isinstance(node, dict):
            for key, item in node.items():
                field = _field(path, key)
                if not is_unicode(key):
                    bad.append(field)
                stack.append((field, item))
        elif isinstance(node, list):
            stack.extend((_field(path, index), item) for index, item in enumerate(node))
    return sorted(bad)


def parse(text: str) -> Any:
    """The value of the JSON document `text`, or JSONRefused (see the module docstring)."""
    if nesting_depth(text) > MAX_DEPTH:
        raise JSONRefused(400, f"the body is not accepted: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except JSONRefused:
        raise
    except ValueError as exc:  # JSONDecodeError, and int() past its digit limit
        raise JSONRefused(400, f"the body is not valid JSON: {str(exc).splitlines()[0][:200]}") from None
    bad = non_unicode_fields(value)
    if bad:
        raise JSONRefused(422, "the body holds text that is not valid Unicode",
                          fields={field: [SURROGATE_MESSAGE] for field in bad})
    return value
