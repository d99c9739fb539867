from tests.conftest import VALID_MONITOR, post_form


def test_dashboard_lists_monitor_after_create(admin_client):
    response = post_form(admin_client, "/monitors/new", VALID_MONITOR)
    assert response.status_code == 302
    page = admin_client.get("/").get_data(as_text=True)
    assert "Example" in page


def test_cluster_page_shows_the_published_leader(app, admin_client):
    """Signed in: the leader's pod and process id are process details, not for anonymous visitors."""
    import json

    from app.extensions import redis_coord
    from app.scheduling.status import KEY

    client = admin_client
    assert "No process runs the timers" in client.get("/cluster/").get_data(as_text=True)
    with app.app_context():
        redis_coord.set(KEY, json.dumps({
            "identity": "pod-a/42", "backend": "kubernetes", "epoch": 7, "since": "2026-01-01T00:00:00+00:00",
            "heartbeat": "2026-01-01T00:00:05+00:00", "lease": "vigil/vigil-timers", "transitions": 7,
            "last_renew": "2026-01-01T00:00:04+00:00"}), ex=60)  # as a leader's, it expires
    page = client.get("/cluster/").get_data(as_text=True)
    assert "pod-a/42" in page and "Lease vigil/vigil-timers, 7 transitions" in page

    anonymous = app.test_client().get("/cluster/")
    assert anonymous.status_code == 302 and "pod-a/42" not in anonymous.get_data(as_text=True)
