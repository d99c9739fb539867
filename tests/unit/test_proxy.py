"""Behind an Ingress the failed-login limit counts per real client, and forged
X-Forwarded-For headers count for nothing when no proxy is trusted."""
import pytest

from tests.conftest import csrf_from, make_app


def _fail_logins(client, times: int, forwarded_for: str) -> int:
    status = None
    for _ in range(times):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        status = client.post("/login", headers={"X-Forwarded-For": forwarded_for},
                             data={"username": "admin", "password": "wrong", "csrf_token": token}).status_code
    return status


@pytest.fixture
def proxied_app(tmp_path, monkeypatch):
    """Factory; the failed-login counters live in the process-wide REDIS2 stand-in,
    so they are flushed afterwards, or later tests would find admin locked out."""
    made = []

    def make(hops: int):
        monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path / "instance"))
        app = make_app(tmp_path, VIGIL_TRUSTED_PROXIES=hops)
        with app.app_context():
            from app.commands import ensure_admin

            ensure_admin()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            from app.extensions import redis_coord

            redis_coord.flushall()


def test_trusted_proxy_separates_clients(proxied_app):
    app = proxied_app(1)
    assert _fail_logins(app.test_client(), 6, "198.51.100.7") == 429
    # Another client behind the same Ingress is not locked out.
    assert _fail_logins(app.test_client(), 1, "198.51.100.8") == 401


def test_forged_forwarded_for_is_ignored_without_a_trusted_proxy(proxied_app):
    app = proxied_app(0)
    client = app.test_client()
    for n in range(6):
        status = _fail_logins(client, 1, f"203.0.113.{n}")  # a new forged address each time
    assert status == 429
