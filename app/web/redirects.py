"""Post/Redirect/Get targets that never leave this host.

``redirect(request.referrer)`` turns any page that links to Vigil into an open
redirect. ``back_or(default)`` returns the ``next`` field or the referrer only
when it points at this host (same scheme family, same host and port), as a
path; anything else (another host, ``//evil``, ``javascript:``, backslash
tricks) falls back to `default`.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from flask import request, url_for


def is_safe_target(target: str | None) -> bool:
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    resolved = urlsplit(urljoin(request.host_url, target))
    return resolved.scheme in ("http", "https") and resolved.netloc == request.host


def local_path(target: str) -> str:
    parts = urlsplit(urljoin(request.host_url, target))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def back_or(endpoint: str, **values) -> str:
    """The safe place to go after a POST: ``next``, else the referrer, else `endpoint`."""
    for candidate in (request.form.get("next"), request.args.get("next"), request.referrer):
        if is_safe_target(candidate):
            return local_path(candidate)
    return url_for(endpoint, **values)
