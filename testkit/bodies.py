"""Hostile request bodies for the property sweeps, and one way to send any body.

``send`` posts bytes through a Flask test client either with a Content-Length or
as gunicorn hands on a ``Transfer-Encoding: chunked`` body (no length, the server
terminates the stream). The strategies build the bodies attackers send: nesting
far past any parser's recursion, lone surrogates, NaN and infinities, numbers
with thousands of digits, bytes that are not UTF-8, bodies just over the limit.
"""
from __future__ import annotations

import io
import json

from hypothesis import strategies as st

SHARP = st.sampled_from(["", " ", "\x00", "\u3000", "\ufeff", "0", "-1", "1e309", "null", "true",
                         "<script>", "' OR 1=1 --", "%ED%A0%80", "%FF", "\\ud800", "http://[::1]/"])
lone_surrogate = st.characters(categories=["Cs"])
surrogate_text = st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), lone_surrogate, st.text(max_size=5))
# Python's json writes these as the literals NaN, Infinity and -Infinity, which JSON does not have.
odd_floats = st.floats(allow_nan=True, allow_infinity=True)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), odd_floats, st.text(max_size=40),
                         surrogate_text, SHARP)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), surrogate_text), inner, max_size=4)),
    max_leaves=12)


def nested(depth: int, kind: str) -> bytes:
    opener, closer = {"list": ("[", "]"), "object": ('{"a":', "}"), "field": ('{"name":[', "]}")}[kind]
    return (opener * depth + "1" + closer * depth).encode()


def huge_number(digits: int, field: str, base: dict) -> bytes:
    """A JSON object whose `field` is a number with `digits` digits (json.dumps stops at 4300)."""
    text = json.dumps({k: v for k, v in base.items() if k != field})
    return (text[:-1] + (", " if len(text) > 2 else "") + f'"{field}": 1{"0" * digits}}}').encode()


def hostile_json(base: dict, limit: int) -> st.SearchStrategy[bytes]:
    """Bodies that look like `base` (a valid JSON object) but each break one rule."""
    fields = sorted(base) or ["name"]
    return st.one_of(
        st.builds(nested, st.integers(min_value=1, max_value=limit // 8), st.sampled_from(["list", "object", "field"])),
        st.builds(lambda f, v: json.dumps({**base, f: v}).encode(), st.sampled_from(fields), json_values),
        st.builds(lambda v: json.dumps(v).encode(), json_values),
        st.builds(lambda n, f: huge_number(n, f, base), st.integers(min_value=300, max_value=6000),
                  st.sampled_from(fields)),
        st.builds(lambda raw: json.dumps(base).encode()[:-1] + raw + b"}", st.binary(max_size=40)),
        st.builds(lambda pad: json.dumps(base).encode() + b" " * pad, st.integers(min_value=limit - 200,
                                                                                   max_value=limit + 200)),
        st.binary(max_size=300),
    )


def send(client, method: str, path: str, body: bytes | None, *, content_type: str | None = None,
         chunked: bool = False, headers: dict | None = None):
    headers = dict(headers or {})
    if content_type:
        headers["Content-Type"] = content_type
    if body is None:
        return client.open(path, method=method, headers=headers)
    if chunked:
        return client.open(path, method=method, input_stream=io.BytesIO(body),
                           headers={**headers, "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    return client.open(path, method=method, data=body, headers=headers)
