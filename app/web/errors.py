"""Error pages: HTML for people, JSON ``{"error", "status"[, "fields"]}`` under /api/.

No traceback ever reaches a user. ``init_app`` also installs the request gate
(app/web/body_gate.py), whose refusals are answered here like any other error.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.web import body_gate

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    body_gate.install(app)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(body_gate.BodyRefused, _refused)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _respond(code: int, title: str, message: str, fields: dict[str, list[str]] | None = None):
    if request.path.startswith("/api/"):
        extra = {"fields": fields} if fields else {}
        return jsonify(error=message, status=code, **extra), code
    if fields:
        message += " (" + "; ".join(f"{name}: {' '.join(texts)}" for name, texts in fields.items()) + ")"
    return render_template("error.html", code=code, title=title, message=message), code


def _csrf_error(error: CSRFError):
    return _respond(400, "Form expired or forged",
                    "The form's security token was missing or invalid. Go back, reload the page and try again.")


def _refused(error: body_gate.BodyRefused):
    return _respond(error.code, error.name, error.description, error.fields)


def _http_error(error: HTTPException):
    messages = {
        404: "There is nothing at this address.",
        405: "This address does not accept that kind of request.",
        413: "The request body is too large.",
        400: "The request could not be understood.",
    }
    code = error.code or 500
    response = make_response(*_respond(code, error.name, messages.get(code, error.description or "")))
    if code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _respond(500, InternalServerError().name, "Something went wrong on our side. It has been logged.")
