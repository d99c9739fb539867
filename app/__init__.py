"""Vigil: an uptime and health monitor for HTTP endpoints.

``create_app(config=None)`` builds the application from the environment; `config`
overrides individual keys (tests use it). The register_* helpers keep each
concern in one place, in the order they depend on each other.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from flask import Flask, Request

from app import config as vigil_config


class Vigil(Flask):
    """Flask, with one per-request cost moved to the first request.

    Flask asks ``inspect.iscoroutinefunction`` of every hook and view on every request
    (``ensure_sync``, which Flask documents for overriding); the answer for a function
    never changes, so it is remembered. Vigil has no async views; one would still work.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ensured: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:
        try:
            return self._ensured[func]
        except KeyError:
            sync = self._ensured[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)


def create_app(config: Mapping[str, Any] | None = None, *, web: bool = True) -> Flask:
    """Build the app. ``web=False`` (the job entrypoint) skips blueprints and their
    imports, so a CronJob pod reaches its job body sooner."""
    app = Vigil(__name__, instance_path=os.environ.get("VIGIL_INSTANCE_PATH") or None)
    settings = vigil_config.load(instance_path=app.instance_path, overrides=config)
    app.config.update(settings)
    app.config["TESTING"] = app.config.get("TESTING") or settings["VIGIL_ENV"] == "testing"

    register_logging(app)
    register_proxy(app)
    register_extensions(app)
    if web:
        register_web_extensions(app)
        register_migrations(app)
        register_blueprints(app)
        register_errorhandlers(app)
        register_commands(app)
        register_dev_server_timers(app)
    return app


def register_migrations(app: Flask) -> None:
    """Flask-Migrate (the `flask db` commands and flask_migrate.upgrade)."""
    from flask_migrate import Migrate

    from app.extensions import db

    Migrate(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))


def register_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One INFO line per probe request (httpx) or per migration plugin is noise at scale.
    for noisy in ("httpx", "httpcore", "alembic.runtime.plugins", "kubernetes.client.rest"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def register_proxy(app: Flask) -> None:
    """Behind an Ingress, the client's address, scheme and host arrive in X-Forwarded-*.

    Trusting them only for the configured number of proxies matters twice: the
    failed-login limit counts per client address (without this every user shares
    the Ingress's address), and a client could otherwise forge the headers.
    """
    hops = app.config["VIGIL_TRUSTED_PROXIES"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def register_extensions(app: Flask) -> None:
    from app.cache import cache_config
    from app.extensions import cache, db, redis_cache, redis_coord

    db.init_app(app)
    _init_redis(app, redis_cache, "REDIS_URL", "embedded-cache")
    _init_redis(app, redis_coord, "REDIS2_URL", "embedded-coord")
    cache.init_app(app, config=cache_config(app.config))


def register_web_extensions(app: Flask) -> None:
    """CSRF protection and sessions: the web process only (jobs have neither)."""
    from app.models import User
    from app.web.extensions import CookieSessions, csrf, login_manager

    app.session_interface = CookieSessions()
    csrf.init_app(app)
    _csrf_only_for_writes(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The cookie holds a session id, not a user id (app/login_sessions.py)."""
        from app import login_sessions

        return login_sessions.user_for(session_id)

    @login_manager.request_loader
    def load_user_from_token(request: Request) -> User | None:
        """A bearer token counts on /api/ only; the UI keeps sessions and CSRF."""
        from app import api_tokens

        if not request.path.startswith("/api/"):
            return None
        return api_tokens.user_for_request(request)


def _csrf_only_for_writes(app: Flask) -> None:
    """Flask-WTF's before-request hook (the one ``csrf.init_app`` just added) looks up
    the view's exemptions on every request, GET included, and only then sees that a GET
    needs no token. Wrapped here to ask the method first; everything it checks, and the
    order of the hooks, stays Flask-WTF's (tests/unit/test_hooks_overhead.py checks that
    the hook found is that one)."""
    from flask import request

    hooks = app.before_request_funcs.setdefault(None, [])
    theirs = hooks[-1] if hooks else None
    if getattr(theirs, "__name__", None) != "csrf_protect" or "flask_wtf" not in theirs.__module__:
        return  # a Flask-WTF that registers its hook differently: keep it as it is

    def csrf_protect_writes() -> None:
        if request.method in app.config["WTF_CSRF_METHODS"]:
            theirs()

    csrf_protect_writes.wrapped = theirs  # type: ignore[attr-defined]
    hooks[-1] = csrf_protect_writes


def _init_redis(app: Flask, client: Any, key: str, embedded_host: str) -> None:
    """Bind a flask-redis client; with no URL, an in-process stand-in (development only).

    The stand-in (fakeredis) is shared by every thread of the process, which is why
    the embedded server runs one process with threads (see app/__main__.py).
    """
    import redis

    if app.config.get(key):
        client.provider_class = redis.StrictRedis
    else:
        import fakeredis

        client.provider_class = fakeredis.FakeStrictRedis
        app.config[key] = f"redis://{embedded_host}/0"
        app.config[key.replace("_URL", "_EMBEDDED")] = True
    client.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app.web import account, api, auth, channels, cluster, dashboard, health, jobs, monitors, tokens, windows
    from app.web import api_windows  # noqa: F401  (its routes join api.bp, so before api.bp registers)

    for module in (health, auth, dashboard, monitors, channels, windows, jobs, cluster, api, tokens, account):
        app.register_blueprint(module.bp)
    from app.web import filters, hooks

    hooks.init_app(app)
    filters.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from app.web.errors import init_app as init_errors

    init_errors(app)


def register_dev_server_timers(app: Flask) -> None:
    """Under `flask run` only, the timers start here, in the serving process, behind
    the leader gate (app/scheduling/devserver.py says why). gunicorn starts them in
    post_worker_init instead, after fork; every other command starts none."""
    from app.scheduling.devserver import start_if_serving

    start_if_serving(app)


def register_commands(app: Flask) -> None:
    from app.commands import vigil

    app.cli.add_command(vigil)
