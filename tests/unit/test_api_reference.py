"""The API reference page: Swagger UI from the pinned package, served by Vigil, under its CSP.

(tests/browser/test_api_reference.py drives it in Chromium: it renders, and Try it out writes.)
"""
from __future__ import annotations

import re

import pytest


def test_the_page_loads_swagger_ui_from_vigil_without_inline_script(admin_client):
    response = admin_client.get("/api/v1/reference")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in page
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/' in attributes and not body.strip() for attributes, body in scripts)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for source in re.findall(r'(?:src|href)="(/[^"]+)"', page):
        assert admin_client.get(source).status_code == 200, source


def test_only_the_pages_assets_are_served(admin_client):
    bundle = admin_client.get("/api/v1/reference/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.mimetype == "text/javascript"
    assert b"SwaggerUIBundle" in bundle.data
    assert admin_client.get("/api/v1/reference/assets/swagger-ui.css").mimetype == "text/css"
    for name in ("index.html", "oauth2-redirect.html", "..%2F__init__.py", "LICENSE"):
        assert admin_client.get(f"/api/v1/reference/assets/{name}").status_code == 404, name


@pytest.mark.parametrize("public_reads", [True, False])
def test_anonymous_visitors_read_it_only_when_reads_are_public(app_factory, public_reads):
    client = app_factory(VIGIL_PUBLIC_READS=public_reads).test_client()
    for path in ("/api/v1/reference", "/api/v1/reference/assets/swagger-ui.css"):
        response = client.get(path)
        if public_reads:
            assert response.status_code == 200, path
        else:  # like every /api/v1 read without a session or token
            assert response.status_code == 401, path


def test_every_page_links_to_it(admin_client):
    assert 'href="/api/v1/reference">API</a>' in admin_client.get("/").get_data(as_text=True)
