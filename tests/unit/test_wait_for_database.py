"""`flask vigil wait-for-database`: the migration Job's first step."""
from __future__ import annotations

from app import create_app
from testkit.ports import free_port


def test_returns_once_the_database_answers(app):
    result = app.test_cli_runner().invoke(args=["vigil", "wait-for-database", "--timeout", "5"])
    assert result.exit_code == 0, result.output
    assert "the database answers" in result.output


def test_gives_up_with_one_line_that_never_shows_the_password(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path))
    url = f"mysql+pymysql://vigil:s3cret-pw@127.0.0.1:{free_port()}/vigil"
    app = create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url})
    result = app.test_cli_runner().invoke(args=["vigil", "wait-for-database", "--timeout", "1",
                                               "--interval", "0.2"])
    assert result.exit_code == 1
    assert "waiting for the database" in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: the database did not answer within 1 s:"), result.output
    assert "s3cret-pw" not in result.output
