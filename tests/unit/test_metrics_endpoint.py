"""/metrics: labels from a fixed set whatever the client sends, and the optional token
(VIGIL_METRICS_TOKEN) checked before anything is rendered."""
from __future__ import annotations

import logging
import re

import pytest

from app import metrics

TOKEN = "metrics-token-0123456789abcdef"


def method_labels(text: str) -> set[str]:
    return set(re.findall(r'^vigil_http_requests_total\{[^}]*method="([^"]*)"', text, re.M))


def endpoint_labels(text: str) -> set[str]:
    return set(re.findall(r'^vigil_http_requests_total\{[^}]*endpoint="([^"]*)"', text, re.M))


@pytest.mark.parametrize("path", ["/healthz", "/", "/no-such-page"])
def test_an_invented_method_adds_no_label_value(client, path):
    for method in ("FOOBAR", "BREW", "X" * 200):
        response = client.open(path, method=method)
        assert response.status_code in (404, 405)
    text = client.get("/metrics").get_data(as_text=True)
    methods = method_labels(text)
    assert not {"FOOBAR", "BREW", "X" * 200} & methods, methods
    assert "other" in methods
    assert methods <= metrics.METHODS | {"other"}


def test_unknown_paths_fold_into_one_endpoint_label(client):
    for i in range(20):
        client.get(f"/made-up-{i}")
    labels = endpoint_labels(client.get("/metrics").get_data(as_text=True))
    assert "unknown" in labels
    assert not [label for label in labels if "made-up" in label], labels


def series(text: str) -> set[str]:
    return set(re.findall(r"^vigil_http_requests_total(\{[^}]*\})", text, re.M))


def test_every_label_value_is_an_endpoint_of_the_app(app, client):
    """The series this test adds (the registry is the process's, shared with other tests'
    apps) carry only the app's endpoint names, known methods and "other"."""
    before = series(client.get("/metrics").get_data(as_text=True))
    for method in ("GET", "POST", "PUT", "FOOBAR", "get"):
        for path in ("/", "/healthz", "/api/v1/monitors", "/nope", "/monitors/1", "/%ff%fe"):
            client.open(path, method=method)
    added = "\n".join(f"vigil_http_requests_total{s} 1" for s in
                      series(client.get("/metrics").get_data(as_text=True)) - before)
    assert endpoint_labels(added) <= set(app.view_functions) | {"unknown"}
    assert added and method_labels(added) <= metrics.METHODS | {"other"}


@pytest.mark.parametrize("method, expected", [("GET", "GET"), ("PATCH", "PATCH"), ("get", "other"),
                                              ("FOOBAR", "other"), ("", "other")])
def test_method_label(method, expected):
    assert metrics.method_label(method) == expected


# ---- the token -------------------------------------------------------------------------

@pytest.fixture
def token_app(app_factory):
    return app_factory(VIGIL_METRICS_TOKEN=TOKEN, VIGIL_PUBLIC_READS=False)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                    f"Bearer {TOKEN[:-1]}", "Bearer wrong", "Bearer ünïcödé", f"{TOKEN}"])
def test_metrics_without_the_token_is_401(token_app, header):
    headers = {} if header is None else {"Authorization": header}
    response = token_app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_data(as_text=True)
    assert "vigil_http" not in body and TOKEN not in body


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_metrics_with_the_token_is_200(token_app, scheme):
    response = token_app.test_client().get("/metrics", headers={"Authorization": f"{scheme} {TOKEN}"})
    assert response.status_code == 200
    assert "vigil_http_requests_total" in response.get_data(as_text=True)


def test_a_signed_in_session_is_not_the_metrics_token(token_app):
    from testkit.http import login

    client = token_app.test_client()
    login(client)
    assert client.get("/metrics").status_code == 401


def test_without_a_token_configured_metrics_stay_open(app_factory):
    response = app_factory(VIGIL_PUBLIC_READS=False).test_client().get("/metrics")
    assert response.status_code == 200


def test_the_token_is_never_logged(token_app, caplog):
    caplog.set_level(logging.DEBUG)
    client = token_app.test_client()
    client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert TOKEN not in caplog.text


def test_bearer_matches_only_the_exact_token():
    from app.web.health import bearer_matches

    assert bearer_matches(f"Bearer {TOKEN}", TOKEN)
    assert bearer_matches(f"Bearer {TOKEN} ", TOKEN)
    assert not bearer_matches(f"Bearer {TOKEN}", TOKEN + "x")
    assert not bearer_matches("Bearer \udcff", TOKEN)  # odd bytes are no error
    assert not bearer_matches("", TOKEN)
