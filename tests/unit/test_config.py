import re

import pytest

from app import config
from testkit import ROOT


def test_development_defaults_need_no_server(tmp_path):
    settings = config.load({}, instance_path=str(tmp_path))
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert len(settings["SECRET_KEY"]) == 64
    # The generated key is shared by every worker through the instance folder.
    assert config.load({}, instance_path=str(tmp_path))["SECRET_KEY"] == settings["SECRET_KEY"]
    assert settings["SESSION_COOKIE_SECURE"] is False


def test_production_has_no_default_secrets(tmp_path):
    with pytest.raises(config.ConfigError) as error:
        config.load({"VIGIL_ENV": "production"}, instance_path=str(tmp_path))
    assert "SECRET_KEY" in str(error.value) and "DATABASE_URL" in str(error.value)
    assert "REDIS_URL" in str(error.value) and "REDIS2_URL" in str(error.value)


def test_production_with_every_secret(tmp_path):
    settings = config.load({"VIGIL_ENV": "production", "SECRET_KEY": "x" * 40,
                            "DATABASE_URL": "mysql+pymysql://u:p@db/vigil",
                            "REDIS_URL": "redis://r:6379/0", "REDIS2_URL": "redis://r2:6379/0"},
                           instance_path=str(tmp_path))
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


@pytest.mark.parametrize("name, value", [("VIGIL_PUBLIC_READS", "maybe"), ("VIGIL_CACHE", "memcached"),
                                         ("VIGIL_CACHE_TTL", "-1"), ("VIGIL_ENV", "staging")])
def test_bad_values_name_the_variable(tmp_path, name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load({name: value}, instance_path=str(tmp_path))


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, re.M))
    assert {s.env for s in config.SETTINGS} <= documented


@pytest.mark.parametrize("env, reload", [("development", True), ("testing", None)])
def test_templates_reload_in_development_only(tmp_path, env, reload):
    assert config.load({"VIGIL_ENV": env}, instance_path=str(tmp_path))["TEMPLATES_AUTO_RELOAD"] is reload


@pytest.mark.parametrize("env, after_edit", [("development", "edited"), ("testing", "first")])
def test_an_edited_template_renders_without_a_restart_in_development(tmp_path, monkeypatch, env, after_edit):
    """What `skaffold dev`'s file sync relies on: the same app (the same gunicorn worker)
    renders the new file; outside development Jinja keeps its cached copy."""
    import os

    from flask import Blueprint, render_template

    from app import create_app

    monkeypatch.setenv("VIGIL_ENV", env)
    monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'vigil.db'}"})
    folder = tmp_path / "templates"
    folder.mkdir()
    template = folder / "sync-probe.html"
    template.write_text("first")
    app.register_blueprint(Blueprint("sync_probe", __name__, template_folder=str(folder)))
    with app.app_context():
        assert render_template("sync-probe.html") == "first"
        template.write_text("edited")
        stat = template.stat()
        os.utime(template, (stat.st_atime, stat.st_mtime + 5))  # a sync lands later than the build
        assert render_template("sync-probe.html") == after_edit


@pytest.mark.parametrize("values, message", [
    ({"VIGIL_LEASE_DURATION": "10", "VIGIL_LEASE_RENEW_DEADLINE": "10"}, "longer than the renew deadline"),
    ({"VIGIL_LEASE_RENEW_DEADLINE": "2.2", "VIGIL_LEASE_RETRY_PERIOD": "2"}, "1.2 x the retry period"),
])
def test_lease_timings_that_break_the_election_fail_at_start_up_in_one_line(tmp_path, values, message):
    with pytest.raises(config.ConfigError) as error:
        config.load(values, instance_path=str(tmp_path))
    text = str(error.value)
    assert message in text and "VIGIL_LEASE_DURATION" in text and "\n" not in text


def test_client_go_timings_pass(tmp_path):
    loaded = config.load({"VIGIL_LEASE_DURATION": "15", "VIGIL_LEASE_RENEW_DEADLINE": "10",
                          "VIGIL_LEASE_RETRY_PERIOD": "2"}, instance_path=str(tmp_path))
    assert loaded["VIGIL_LEASE_DURATION"] == 15


def test_overrides_given_to_create_app_feed_the_derived_defaults(tmp_path, monkeypatch):
    """VIGIL_ENV=testing handed to create_app turns off what testing turns off (it was
    applied after those defaults were derived, so unit tests started real check runs)."""
    from app import create_app

    monkeypatch.delenv("VIGIL_ENV", raising=False)
    monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"VIGIL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'v.db'}"})
    assert app.config["VIGIL_CHECK_ON_SAVE"] is False and app.config["VIGIL_CRON_IN_PROCESS"] is False
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == config.engine_options(f"sqlite:///{tmp_path / 'v.db'}")
    explicit = create_app({"VIGIL_ENV": "testing", "VIGIL_CHECK_ON_SAVE": True,
                           "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'v.db'}"})
    assert explicit.config["VIGIL_CHECK_ON_SAVE"] is True
