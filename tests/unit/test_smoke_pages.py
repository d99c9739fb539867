from tests.conftest import VALID_MONITOR, post_form


def test_dashboard_lists_monitor_after_create(admin_client):
    response = post_form(admin_client, "/monitors/new", VALID_MONITOR)
    assert response.status_code == 302
    page = admin_client.get("/").get_data(as_text=True)
    assert "Example" in page
