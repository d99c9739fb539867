"""Post/Redirect/Get targets that never leave this host.

``redirect(request.referrer)`` turns any page that links to Vigil into an open
redirect. ``back_or(default)`` returns the ``next`` field or the referrer only
when it certainly points at this host, and then only as a path; anything else
falls back to `default`.

What counts as this host is decided the way a browser would read the URL, not
the way ``urljoin`` would: an absolute path (one leading slash, never two, no
backslash), or an http(s) URL with exactly this host and port. Scheme-only
URLs (``http:evil``), protocol-relative ones (``//evil``, ``///evil``), control
characters and DEL are all refused.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def is_safe_target(target: str | None) -> bool:
    if not target or "\\" in target or _has_control(target) or target.startswith("//"):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return False
    elif not target.startswith("/"):
        return False
    return (parts.path or "/").startswith("/") and not parts.path.startswith("//")


def local_path(target: str) -> str:
    """The path and query of a target that ``is_safe_target`` accepted."""
    parts = urlsplit(target)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def back_or(endpoint: str, **values) -> str:
    """The safe place to go after a POST: ``next``, else the referrer, else `endpoint`."""
    for candidate in (request.form.get("next"), request.args.get("next"), request.referrer):
        if is_safe_target(candidate):
            return local_path(candidate)
    return url_for(endpoint, **values)
