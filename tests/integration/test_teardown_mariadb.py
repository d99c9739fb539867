"""A database connection that dies under a request never turns the response into a 500.

Flask-SQLAlchemy ends every app context with ``session.remove()``, a rollback on
the session's connection. Here a real MariaDB connection is killed (``KILL <id>``
from another connection) while a request holds it: the response the view made
must still reach the client, the failure must be logged as one line without
the database's password, and the next request must work on a fresh connection.
"""
from __future__ import annotations

import logging

import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.extensions import db

pytestmark = pytest.mark.integration


@pytest.fixture
def mysql_app(mariadb_app, database_url):
    app = mariadb_app
    with app.app_context():  # a signed-in caller (an API token), whatever the read guard allows anonymously
        from app import api_tokens

        app.config["TEST_AUTH"] = {"Authorization": "Bearer " + api_tokens.issue(username="admin", name="t")[1]}

    @app.route("/api/v1/test-kill-my-connection")
    def kill_my_connection():
        """Open a transaction, have another connection KILL ours, answer without the database."""
        connection_id = db.session.execute(sa.text("SELECT CONNECTION_ID()")).scalar_one()
        url = make_url(database_url)
        killer = pymysql.connect(host=url.host, port=url.port, user=url.username, password=url.password)
        try:
            with killer.cursor() as cursor:
                cursor.execute(f"KILL {int(connection_id)}")
        finally:
            killer.close()
        return {"killed": connection_id}

    return app


def test_a_connection_killed_under_a_request_still_gets_the_response(mysql_app, caplog, database_url):
    client = mysql_app.test_client()
    with caplog.at_level(logging.WARNING, logger="app.extensions"):
        response = client.get("/api/v1/test-kill-my-connection", headers=mysql_app.config["TEST_AUTH"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "killed" in response.get_json()
    lines = [r.getMessage() for r in caplog.records if r.name == "app.extensions"]
    assert len(lines) == 1 and "database session cleanup failed" in lines[0], lines
    assert "\n" not in lines[0]
    password = make_url(database_url).password
    assert password not in lines[0] and "SELECT" not in lines[0]
    # the dead connection was discarded: the next request gets a live one
    assert client.get("/api/v1/monitors", headers=mysql_app.config["TEST_AUTH"]).status_code == 200
    second = client.get("/api/v1/test-kill-my-connection", headers=mysql_app.config["TEST_AUTH"])
    assert second.status_code == 200
    assert second.get_json()["killed"] != response.get_json()["killed"]
