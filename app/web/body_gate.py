"""The one gate every request passes before any view, form or extension reads it.

``install(app)`` wraps ``app.wsgi_app`` in ``BodyGate`` and puts a hook first in
line among the before-request hooks (ahead of CSRF), which turns the gate's
verdict into an error answered by app/web/errors.py: JSON
``{"error", "status"[, "fields"]}`` under /api/, the HTML error page elsewhere.

Guarantees, for every path and method:
- the request line and header fields are bounded (``MAX_TARGET_BYTES``: 414,
  ``MAX_FIELD_BYTES`` per header line and ``MAX_HEADER_BYTES`` in all: 431). These
  equal gunicorn's own defaults, and gunicorn.conf.py sets gunicorn's limits above
  them, so the app, not gunicorn, answers what lies between;
- a body of a POST, PUT, PATCH or DELETE is read here, whatever its length
  encoding (Content-Length or Transfer-Encoding: chunked), and counted: more than
  ``MAX_CONTENT_LENGTH`` (VIGIL_MAX_BODY_BYTES) bytes is 413, and nothing after
  the gate sees any of it. (Werkzeug alone stops reading a chunked body at the
  limit and hands the truncated start on as if it were the whole body.)
  Everything after the gate reads the checked copy, with a Content-Length;
- every body must be UTF-8 (400 that says so; Werkzeug would drop an
  undecodable form silently, which surfaced as "Form expired or forged");
- a JSON body (``application/json``, ``application/*+json``) is accepted only
  under /api/ (415 elsewhere: the pages take form posts, and Flask-WTF would
  otherwise feed any JSON value to the forms) and must pass app/web/json_body.py:
  bounded nesting, no NaN or Infinity, no repeated keys, no lone surrogates (422
  naming the field);
- a GET, HEAD or OPTIONS body is never read by anyone: it is replaced by an empty one.

Caveats:
- the gate answers only requests that reach the app: what gunicorn refuses itself
  (a header line or request line beyond gunicorn.conf.py's limits, a malformed
  chunk) gets gunicorn's own short HTML page, before any app code runs;
- the whole body (at most MAX_CONTENT_LENGTH) is held in memory; Vigil takes no
  file uploads, so no body is large; multipart bodies must be UTF-8 as a whole;
- a 413 leaves the rest of an oversized body unread; gunicorn drains or closes.

Why it is written here: no Flask or Werkzeug extension bounds chunked bodies (the
limit is Werkzeug's ``max_content_length``, which truncates them), and the checks
are a few lines each over the standard library and Werkzeug's own header parser.
"""
from __future__ import annotations

import io
import time
from typing import Any, Callable, Iterable

from flask import Flask, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_options_header

from app.web.json_body import JSONRefused, parse

MAX_TARGET_BYTES = 4094  # gunicorn's default limit_request_line
MAX_FIELD_BYTES = 8190  # gunicorn's default limit_request_field_size (name, ": ", value, CRLF)
MAX_HEADER_BYTES = 32 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
VERDICT = "vigil.body_gate.refused"
STARTED = "vigil.request_started"  # time.perf_counter() when the gate saw the request (app/web/hooks.py)
_READ_SIZE = 16 * 1024


class BodyRefused(HTTPException):
    """An HTTP error with the gate's message and, for invalid text, messages per field."""

    def __init__(self, code: int, message: str, fields: dict[str, list[str]] | None = None) -> None:
        self.code = code
        super().__init__(description=message)
        self.fields = fields

    @property
    def name(self) -> str:  # type: ignore[override]
        return {400: "Bad Request", 413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
                422: "Unprocessable Content", 431: "Request Header Fields Too Large"}.get(self.code, "Bad Request")


def install(app: Flask) -> None:
    app.wsgi_app = BodyGate(app.wsgi_app, app.config)  # type: ignore[method-assign]
    app.before_request_funcs.setdefault(None, []).insert(0, _raise_verdict)


def _raise_verdict() -> None:
    refused = request.environ.get(VERDICT)
    if refused is not None:
        raise refused


class BodyGate:
    """WSGI middleware: judge the request, keep the verdict in the environ, call the app."""

    def __init__(self, wsgi_app: Callable, config: Any) -> None:
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[STARTED] = time.perf_counter()
        try:
            _check_head(environ)
            _check_body(environ, self.config.get("MAX_CONTENT_LENGTH"))
        except BodyRefused as refused:
            _replace_body(environ, b"")
            environ[VERDICT] = refused
        return self.wsgi_app(environ, start_response)


def _check_head(environ: dict) -> None:
    target = len(environ.get("RAW_URI") or "") or (
        len(environ.get("SCRIPT_NAME", "")) + len(environ.get("PATH_INFO", ""))
        + len(environ.get("QUERY_STRING", "")) + 1)
    if len(environ.get("REQUEST_METHOD", "")) + target + len(" HTTP/1.1") > MAX_TARGET_BYTES:
        raise BodyRefused(414, f"The address is too long (at most {MAX_TARGET_BYTES} bytes in the request line).")
    total = 0
    for key, value in environ.items():
        # A header line is "Name: value\r\n": the name is the key without HTTP_.
        if key.startswith("HTTP_"):
            size = len(key) - 1 + len(value)
        elif key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            size = len(key) + 4 + len(value)
        else:
            continue
        if size > MAX_FIELD_BYTES:
            raise BodyRefused(431, f"A request header is too large (at most {MAX_FIELD_BYTES} bytes each).")
        total += size
    if total > MAX_HEADER_BYTES:
        raise BodyRefused(431, f"The request headers are too large (at most {MAX_HEADER_BYTES} bytes in all).")


def _content_length(environ: dict) -> int | None:
    raw = environ.get("CONTENT_LENGTH", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise BodyRefused(400, "The Content-Length header is not a number.")
    return int(raw)


def _chunked(environ: dict) -> bool:
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def _read(stream: Any, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the stream."""
    parts, left = [], size
    while left > 0:
        chunk = stream.read(min(left, _READ_SIZE))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _replace_body(environ: dict, body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, f"The request body is too large. The limit is {limit} bytes.")


def _check_body(environ: dict, limit: int | None) -> None:
    if environ.get("REQUEST_METHOD", "GET").upper() not in BODY_METHODS:
        _replace_body(environ, b"")
        return
    limit = limit or 64 * 1024
    length = _content_length(environ)
    if length is not None:
        if length > limit:
            raise _too_large(limit)
        body = _read(environ["wsgi.input"], length)
        if len(body) < length:
            raise BodyRefused(400, "The request body ended before its Content-Length.")
    elif _chunked(environ):
        body = _read(environ["wsgi.input"], limit + 1)
        if len(body) > limit:
            raise _too_large(limit)
    else:
        body = b""
    _replace_body(environ, body)
    if body:
        _check_text(environ, body)


def _check_text(environ: dict, body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyRefused(400, f"The request body is not valid UTF-8 (byte {exc.start}). "
                               "Vigil reads UTF-8 text only.") from None
    mimetype = parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower()
    if not (mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))):
        return
    if not (environ.get("PATH_INFO") or "").startswith("/api/"):
        raise BodyRefused(415, "These pages take form posts (application/x-www-form-urlencoded), not JSON. "
                               "The JSON API is under /api/.")
    try:
        parse(text)
    except JSONRefused as refused:
        raise BodyRefused(refused.status, refused.message, refused.fields) from None
