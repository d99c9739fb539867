"""The API tokens page: sign-in, CSRF, shown once, works on the API, revoke own only."""
from __future__ import annotations

import re

import pytest

from testkit.http import csrf_from, login
from tests.conftest import add_user, post_form

PAGE = "/account/tokens"
SHOWN = re.compile(r'id="new-token"[^>]*value="(vigil_[^"]+)"')


def create_token(client, name: str = "deploys"):
    response = post_form(client, PAGE, {"name": name})
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    match = SHOWN.search(response.get_data(as_text=True))
    assert match, "the new token is not on the page"
    return response, match.group(1)


def test_the_page_needs_a_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    refused = post_form(client, PAGE, {"name": "x"}, form_path="/login")  # a valid CSRF token
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]


def test_a_token_is_shown_once_and_works_on_the_api(admin_client, client):
    response, token = create_token(admin_client)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers or token not in response.headers["Set-Cookie"]
    again = admin_client.get(PAGE).get_data(as_text=True)
    assert token not in again and token[:12] in again and "deploys" in again
    created = client.post("/api/v1/monitors", json={"name": "via page token", "url": "http://127.0.0.1:9/"},
                          headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201


def test_revoking_stops_the_token(app, admin_client, client):
    _, token = create_token(admin_client)
    from app import api_tokens

    with app.app_context():
        (row,) = api_tokens.list_tokens()
    response = post_form(admin_client, f"{PAGE}/{row.id}/revoke", {}, form_path=PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)
    assert "no API tokens" in admin_client.get(PAGE).get_data(as_text=True)
    refused = client.post("/api/v1/monitors", json={"name": "x", "url": "http://127.0.0.1:9/"},
                          headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def test_another_users_token_cannot_be_revoked_or_seen(app, admin_client):
    from app import api_tokens

    add_user(app, "other")
    with app.app_context():
        row, token = api_tokens.issue(username="other", name="theirs")
        row_id = row.id
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "theirs" not in page and token[:12] not in page
    response = post_form(admin_client, f"{PAGE}/{row_id}/revoke", {}, form_path=PAGE)
    assert response.status_code == 404
    with app.app_context():
        assert [t.id for t in api_tokens.list_tokens()] == [row_id]


@pytest.mark.parametrize("name, message", [("", "Name the token"), ("x" * 65, "at most 64"),
                                           ("bell\x07", "Control characters")])
def test_bad_names_are_422_with_a_message(app, admin_client, name, message):
    from app import api_tokens

    response = post_form(admin_client, PAGE, {"name": name})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert api_tokens.list_tokens() == []


def test_a_forged_csrf_token_is_refused(app, admin_client):
    from app import api_tokens

    admin_client.get(PAGE)
    assert admin_client.post(PAGE, data={"name": "x", "csrf_token": "forged"}).status_code == 400
    assert admin_client.post(f"{PAGE}/1/revoke", data={"csrf_token": "forged"}).status_code == 400
    with app.app_context():
        assert api_tokens.list_tokens() == []


def test_markup_in_a_name_is_escaped(admin_client):
    create_token(admin_client, "<script>alert(1)</script>")
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("token_id", ["0", "99999", str(2**63)])
def test_revoking_a_missing_token_is_404(admin_client, token_id):
    token = csrf_from(admin_client.get(PAGE).get_data(as_text=True))
    assert admin_client.post(f"{PAGE}/{token_id}/revoke", data={"csrf_token": token}).status_code == 404


def test_signed_in_pages_link_to_the_tokens_page(client):
    login(client)
    assert 'href="/account/tokens"' in client.get("/").get_data(as_text=True)
