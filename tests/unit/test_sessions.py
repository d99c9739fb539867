"""Sessions that end: a cookie saved before logout, a password change or "sign out
everywhere" opens nothing afterwards; ids rotate at login; cookie flags; login does
the same work for unknown names; 429 says when to retry."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from testkit.http import ADMIN_PASSWORD as PASSWORD
from testkit.http import csrf_from, login
from tests.conftest import add_user, post_form

PRIVATE = "/account/tokens"  # a page only a signed-in user sees


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app, cookie: str):
    """A fresh browser that presents a saved session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get(PRIVATE)


def signed_in_client(app, username="admin", password=PASSWORD):
    client = app.test_client()
    login(client, username, password)
    assert client.get(PRIVATE).status_code == 200
    return client


def test_a_cookie_saved_before_logout_opens_nothing_after_it(app):
    client = signed_in_client(app)
    saved = session_cookie(client)
    assert replay(app, saved).status_code == 200  # the copy works while the session lives
    post_form(client, "/logout", {}, form_path="/")
    response = replay(app, saved)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    mine, other = signed_in_client(app), signed_in_client(app)
    saved_other = session_cookie(other)
    response = post_form(mine, "/account/password",
                         {"current": PASSWORD, "new": "a brand new passphrase", "confirm": "a brand new passphrase"},
                         form_path="/account")
    assert response.status_code == 302
    assert "1 other session signed out" in mine.get("/account").get_data(as_text=True)
    assert mine.get(PRIVATE).status_code == 200
    assert other.get(PRIVATE).status_code == 302
    assert replay(app, saved_other).status_code == 302
    login(app.test_client(), "admin", "a brand new passphrase")


@pytest.mark.parametrize("fields, message", [
    ({"current": "wrong", "new": "a brand new passphrase", "confirm": "a brand new passphrase"},
     "This is not your current password."),
    ({"current": PASSWORD, "new": "short", "confirm": "short"}, "Use 12 to 256 characters."),
    ({"current": PASSWORD, "new": "a brand new passphrase", "confirm": "another one entirely"},
     "The two new passwords differ."),
])
def test_a_bad_password_change_is_422_with_a_message_and_changes_nothing(app, fields, message):
    mine, other = signed_in_client(app), signed_in_client(app)
    response = post_form(mine, "/account/password", fields, form_path="/account")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert other.get(PRIVATE).status_code == 200
    login(app.test_client(), "admin", PASSWORD)


def test_sign_out_everywhere_asks_first_then_ends_every_session(app):
    mine, other = signed_in_client(app), signed_in_client(app)
    saved = session_cookie(mine)
    asked = mine.get("/account/sign-out-everywhere")
    assert asked.status_code == 200 and "Sign out everywhere?" in asked.get_data(as_text=True)
    assert other.get(PRIVATE).status_code == 200  # asking changed nothing
    response = post_form(mine, "/account/sign-out-everywhere", {}, form_path="/account/sign-out-everywhere")
    assert response.status_code == 302
    for client in (mine, other):
        assert client.get(PRIVATE).status_code == 302
    assert replay(app, saved).status_code == 302


def test_sign_out_everywhere_leaves_other_users_signed_in(app):
    add_user(app, "bob")
    admin, bob = signed_in_client(app), signed_in_client(app, "bob", "another long passphrase")
    post_form(admin, "/account/sign-out-everywhere", {}, form_path="/account/sign-out-everywhere")
    assert bob.get(PRIVATE).status_code == 200


def test_the_sign_out_command_ends_a_users_sessions(app):
    client = signed_in_client(app)
    result = app.test_cli_runner().invoke(args=["vigil", "sign-out", "admin"])
    assert result.exit_code == 0 and "signed out 1 session of 'admin'" in result.output
    assert client.get(PRIVATE).status_code == 302
    unknown = app.test_cli_runner().invoke(args=["vigil", "sign-out", "nobody"])
    assert unknown.exit_code != 0 and "no user named 'nobody'" in unknown.output


def test_login_rotates_the_session_and_drops_what_was_planted_before(app):
    client = app.test_client()
    with client.session_transaction() as planted:
        planted["planted"] = "by an attacker"
    login(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        first = session["_user_id"]
    post_form(client, "/logout", {}, form_path="/")
    login(client)
    with client.session_transaction() as session:
        assert session["_user_id"] != first
    assert replay(app, client.get_cookie("session").value).status_code == 200


def test_the_cookie_holds_a_session_id_not_the_user_id(app):
    client = signed_in_client(app)
    with client.session_transaction() as session:
        assert len(session["_user_id"]) >= 40  # 32 random bytes, URL-safe
    forged = app.test_client()
    with forged.session_transaction() as session:
        session["_user_id"] = "1"  # what a cookie held before sessions could end
    assert forged.get(PRIVATE).status_code == 302


def test_a_session_idle_past_the_limit_ends(app):
    from app import login_sessions
    from app.extensions import db
    from app.models import LoginSession, utcnow

    client = signed_in_client(app)
    with app.app_context():
        db.session.execute(sa.update(LoginSession).values(
            last_seen_at=utcnow() - login_sessions.IDLE_LIMIT - timedelta(minutes=1)))
        db.session.commit()
    assert client.get(PRIVATE).status_code == 302


def test_the_account_page_lists_sessions_and_marks_this_one(app):
    mine = signed_in_client(app)
    signed_in_client(app)
    html = mine.get("/account").get_data(as_text=True)
    assert html.count("UTC</td>") == 4  # two sessions, started and last seen
    assert html.count("this browser") == 1


@pytest.mark.parametrize("env, secure", [("testing", False), ("production", True)])
def test_session_cookie_flags(app_factory, env, secure, monkeypatch):
    app = app_factory()
    app.config["SESSION_COOKIE_SECURE"] = secure if env == "testing" else app.config["SESSION_COOKIE_SECURE"]
    if env == "production":
        from app import config

        monkeypatch.setenv("VIGIL_ENV", "production")
        loaded = config.load({"VIGIL_ENV": "production", "SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://",
                              "REDIS_URL": "redis://r", "REDIS2_URL": "redis://r2"}, instance_path="/tmp")
        assert loaded["SESSION_COOKIE_SECURE"] is True
        app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    set_cookie = client.get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert ("Secure" in set_cookie) is secure


def test_login_checks_one_password_hash_for_unknown_and_known_names(app, monkeypatch):
    """Constant work: an unknown name costs the same hash check as a known one (no timing
    oracle). Counted, not timed: timings are noisy on shared machines."""
    from werkzeug import security

    from app.web import auth

    calls = []
    real = security.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: calls.append("dummy") or real(h, p))
    monkeypatch.setattr(security, "check_password_hash", lambda h, p: calls.append("user") or real(h, p))
    import app.models.user as user_module

    monkeypatch.setattr(user_module, "check_password_hash", lambda h, p: calls.append("user") or real(h, p))
    for username in ("admin", "nobody"):
        calls.clear()
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"username": username, "password": "wrong", "csrf_token": token})
        assert len(calls) == 1, (username, calls)
    assert auth._dummy_hash().split("$")[0] == security.generate_password_hash("x").split("$")[0]


def test_a_locked_login_says_when_to_retry(app):
    client = app.test_client()
    window = app.config["VIGIL_LOGIN_WINDOW_SECONDS"]
    for _ in range(app.config["VIGIL_LOGIN_MAX_FAILURES"] + 1):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"username": "admin", "password": "wrong", "csrf_token": token})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= window


def test_revoking_a_token_asks_first(app, admin_client):
    from app import api_tokens

    with app.app_context():
        row, _ = api_tokens.issue(username="admin", name="ci")
        token_id = row.id
    asked = admin_client.get(f"/account/tokens/{token_id}/revoke")
    assert asked.status_code == 200 and "Revoke the token “ci”?" in asked.get_data(as_text=True)
    with app.app_context():
        assert [t.id for t in api_tokens.list_tokens(user_id=1)] == [token_id]
    assert admin_client.get("/account/tokens/999/revoke").status_code == 404
