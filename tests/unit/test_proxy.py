"""Behind an Ingress the failed-login limit counts per real client, and forged
X-Forwarded-For headers count for nothing when no proxy is trusted."""
from testkit.http import csrf_from


def _fail_logins(client, times: int, forwarded_for: str) -> int:
    status = None
    for _ in range(times):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        status = client.post("/login", headers={"X-Forwarded-For": forwarded_for},
                             data={"username": "admin", "password": "wrong", "csrf_token": token}).status_code
    return status


def test_trusted_proxy_separates_clients(app_factory):
    app = app_factory(VIGIL_TRUSTED_PROXIES=1)
    assert _fail_logins(app.test_client(), 6, "198.51.100.7") == 429
    # Another client behind the same Ingress is not locked out.
    assert _fail_logins(app.test_client(), 1, "198.51.100.8") == 401


def test_forged_forwarded_for_is_ignored_without_a_trusted_proxy(app_factory):
    app = app_factory(VIGIL_TRUSTED_PROXIES=0)
    client = app.test_client()
    for n in range(6):
        status = _fail_logins(client, 1, f"203.0.113.{n}")  # a new forged address each time
    assert status == 429
