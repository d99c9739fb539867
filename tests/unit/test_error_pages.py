"""The page a person sees when something unexpected breaks: a title, a message, no traceback."""
from __future__ import annotations

from testkit.http import login


def test_unexpected_error_page_has_a_real_title_and_no_traceback(app):
    @app.route("/boom-for-test")
    def boom():
        raise RuntimeError("secret internal detail")

    client = app.test_client()
    login(client)  # signed in: the read guard keeps unlisted pages private
    page = client.get("/boom-for-test")
    assert page.status_code == 500
    html = page.get_data(as_text=True)
    # The title once rendered as "<property object at 0x...>" (a class's property, not a value).
    assert "<h1>Internal Server Error</h1>" in html
    assert "property object" not in html and "secret internal detail" not in html
    api = app.test_client().get("/api/v1/monitors/0")  # an API error stays JSON
    assert api.is_json
