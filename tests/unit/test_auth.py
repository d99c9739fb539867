"""Login, logout, the failed-login limit and private reads (VIGIL_PUBLIC_READS=false)."""
from __future__ import annotations

import pytest

from testkit.http import ADMIN_PASSWORD as PASSWORD
from testkit.http import csrf_from, login
from tests.conftest import VALID_MONITOR, add_user, post_form

WRONG = "The user name or password is wrong."
LOCKED = "Too many failed attempts."


def attempt(client, username: str = "admin", password: str = PASSWORD, **kwargs):
    token = csrf_from(client.get("/login", **kwargs).get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       **kwargs)


def is_signed_in(client) -> bool:
    """Only a signed-in user reaches the add-monitor form; others are sent to /login."""
    return client.get("/monitors/new").status_code == 200


# -- login ---------------------------------------------------------------------------------

def test_login_with_the_right_password_signs_in_and_redirects_to_the_dashboard(client):
    response = attempt(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Signed in as admin." in client.get("/").get_data(as_text=True)
    assert is_signed_in(client)


def test_login_with_a_wrong_password_is_401_with_a_message(client):
    response = attempt(client, password="wrong")
    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_login_with_an_unknown_user_gets_the_same_401_as_a_wrong_password(client):
    unknown = attempt(client, username="nobody", password="wrong")
    wrong = attempt(client, password="wrong")
    assert unknown.status_code == wrong.status_code == 401
    assert WRONG in unknown.get_data(as_text=True)
    assert not is_signed_in(client)


def test_login_with_empty_fields_is_400_with_messages(client):
    response = attempt(client, username="", password="")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter your user name." in html and "Enter your password." in html


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_a_valid_csrf_token_is_400_and_does_not_sign_in(client, token):
    data = {"username": "admin", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert "security token was missing or invalid" in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_login_page_for_a_signed_in_user_redirects_to_the_dashboard(admin_client):
    response = admin_client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_overlong_credentials_are_rejected_without_a_5xx(client):
    response = attempt(client, username="a" * 10_000, password="b" * 10_000)
    assert response.status_code == 400


# -- logout --------------------------------------------------------------------------------

def test_logout_by_get_is_405_and_keeps_the_session(admin_client):
    response = admin_client.get("/logout")
    assert response.status_code == 405
    assert is_signed_in(admin_client)


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_logout_without_a_valid_csrf_token_is_400_and_keeps_the_session(admin_client, token):
    response = admin_client.post("/logout", data={} if token is None else {"csrf_token": token})
    assert response.status_code == 400
    assert "security token was missing or invalid" in response.get_data(as_text=True)
    assert is_signed_in(admin_client)


def test_logout_with_post_and_csrf_signs_out(admin_client):
    response = post_form(admin_client, "/logout", {}, form_path="/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert not is_signed_in(admin_client)
    # and mutations need a login again
    rejected = post_form(admin_client, "/monitors/new", VALID_MONITOR, form_path="/login")
    assert rejected.status_code == 302 and rejected.headers["Location"].startswith("/login")


# -- failed-login limit --------------------------------------------------------------------

def fail(client, times: int, username: str = "admin", **kwargs) -> None:
    for _ in range(times):
        assert attempt(client, username=username, password="wrong", **kwargs).status_code == 401


def test_sixth_attempt_after_five_failures_is_429_even_with_the_right_password(app, client):
    assert app.config["VIGIL_LOGIN_MAX_FAILURES"] == 5
    fail(client, 5)
    response = attempt(client)
    assert response.status_code == 429
    assert LOCKED in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_four_failures_still_allow_the_right_password(client):
    fail(client, 4)
    assert attempt(client).status_code == 302
    assert is_signed_in(client)


def test_a_successful_login_resets_the_failure_count(client):
    fail(client, 4)
    assert attempt(client).status_code == 302
    post_form(client, "/logout", {}, form_path="/")
    fail(client, 4)
    assert attempt(client).status_code == 302


def test_lockout_of_one_user_name_does_not_lock_another(app, client):
    add_user(app, "operator", "another long passphrase")
    fail(client, 5)
    assert attempt(client).status_code == 429
    assert attempt(client, username="operator", password="another long passphrase").status_code == 302


def test_lockout_counts_per_user_name_whatever_its_case(client):
    fail(client, 5, username="ADMIN")
    assert attempt(client).status_code == 429


def test_lockout_from_one_address_does_not_lock_another_address(app):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    fail(attacker, 5)
    assert attempt(attacker).status_code == 429
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    assert attempt(colleague).status_code == 302


# -- private reads -------------------------------------------------------------------------

@pytest.fixture
def private_app(app_factory):
    return app_factory(VIGIL_PUBLIC_READS=False)


@pytest.mark.parametrize("path", ["/", "/monitors/1", "/monitors/new", "/monitors/1/delete", "/jobs/",
                                  "/jobs/check-monitors", "/cluster/"])
def test_private_reads_send_anonymous_pages_to_login(private_app, path):
    response = private_app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ["/api/v1/monitors", "/api/v1/monitors/1", "/api/v1/status",
                                  "/api/v1/openapi.json"])
def test_private_reads_answer_anonymous_api_calls_with_401_json(private_app, path):
    response = private_app.test_client().get(path)
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["error"] == "login required"


@pytest.mark.parametrize("path", ["/healthz", "/login", "/static/vigil.css"])
def test_private_reads_keep_health_login_and_static_public(private_app, path):
    assert private_app.test_client().get(path).status_code == 200


def test_private_reads_let_a_signed_in_user_read_everything(private_app):
    client = private_app.test_client()
    login(client)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/monitors").status_code == 200
    assert client.get("/api/v1/status").status_code == 200


def test_private_reads_login_returns_to_the_page_asked_for(private_app):
    client = private_app.test_client()
    location = client.get("/?x=1").headers["Location"]  # /login?next=...
    token = csrf_from(client.get(location).get_data(as_text=True))
    response = client.post(location, data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/?x=1"
