"""The API reference page: Swagger UI reading /api/v1/openapi.json.

Swagger UI's files come from the flask-swagger-ui package (pinned in requirements.txt) and
are served by Vigil itself, so the page works without the internet and under Vigil's
Content-Security-Policy (``script-src 'self'; style-src 'self'``). The package's own
blueprint is not used: its page starts Swagger UI with an inline script, which that policy
refuses. Here a static file (app/static/api-reference.js) starts it, and only the two files
the page needs are served from the package.

"Try it out" sends real requests with the bearer token typed into Authorize; the token stays
in the page (persistAuthorization is off), and writes still need a valid token.
"""
from __future__ import annotations

from importlib.resources import files

from flask import abort, render_template, send_from_directory

from app.web.api_common import bp

SWAGGER_UI_DIST = str(files("flask_swagger_ui") / "dist")
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})


@bp.route("/reference")
def reference():
    return render_template("api/reference.html")


@bp.route("/reference/assets/<name>")
def reference_asset(name: str):
    if name not in ASSETS:
        abort(404)
    return send_from_directory(SWAGGER_UI_DIST, name, max_age=86400)
