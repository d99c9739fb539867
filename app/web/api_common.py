"""What every /api/v1 module shares: the blueprint, the bearer-token check and the error shape.

The blueprint is exempt from CSRF: its writes need an ``Authorization: Bearer`` token,
which no browser sends by itself (app/web/api.py says more). Every error is JSON
``{"error", "status"[, "fields"]}``, the Error schema of app/web/openapi.py.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import Blueprint, jsonify, request

from app import api_tokens
from app.field_errors import FieldErrors, NameTaken
from app.web.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # writes need a bearer token, which no browser sends on its own


def json_error(status: int, message: str, **extra):
    return jsonify(error=message, status=status, **extra), status


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if api_tokens.user_for_request(request) is None:
            response, status = json_error(401, "a valid API token is required in 'Authorization: Bearer <token>'")
            response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
            return response, status
        return view(*args, **kwargs)
    return wrapper


def saved(body: dict, *, location: str | None = None):
    """The answer to a write: the resource; with `location` (a creation), 201 and a Location header."""
    response = jsonify(body)
    if location is not None:
        response.status_code = 201
        response.headers["Location"] = location
    return response


class NotAnObject(ValueError):
    """The request body is not a JSON object."""


def json_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object; NotAnObject otherwise."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise NotAnObject()
    return body


NOT_AN_OBJECT = "the body must be a JSON object (Content-Type: application/json)"


def write_from_body(noun: str, write: Callable[[dict[str, Any]], object]):
    """Call `write` with the request's JSON object. None when it wrote; else the error to
    answer: 400 when the body is not an object, and for a refusal (app/field_errors.py)
    its status (422, or 409 for a taken name) with its messages per field."""
    try:
        write(json_object())
    except NotAnObject:
        return json_error(400, NOT_AN_OBJECT)
    except FieldErrors as refused:
        message = f"another {noun} already has this name" if isinstance(refused, NameTaken) \
            else f"the {noun} is not valid"
        return json_error(refused.status, message, fields=refused.fields)
    return None
