"""Extension instances (and the one subclass they need); each is bound to an app in app.create_app.

Flask-Migrate is not here: it imports Alembic and Mako, which only `flask db`
and the embedded server need, and every CronJob pod would pay for them at start
(see bench/jobstart). app.register_migrations binds it for those paths. For the
same reason CSRF and login live in app/web/extensions.py.
"""
import logging

import flask_sqlalchemy
from flask_caching import Cache
from flask_redis import FlaskRedis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.models.base import Base

# A Redis outage must cost a page milliseconds, not seconds: short socket timeouts, and
# one immediate retry (it heals a pooled connection that a Redis restart dropped) instead
# of redis-py's default of three retries with exponential backoff, about 4.7 s per call.
_REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "health_check_interval": 30,
                  "retry": Retry(NoBackoff(), 1)}

log = logging.getLogger(__name__)


class SQLAlchemy(flask_sqlalchemy.SQLAlchemy):
    """Flask-SQLAlchemy whose end-of-context cleanup cannot fail a request or a job.

    At the end of every app context Flask-SQLAlchemy calls ``session.remove()``,
    which rolls back on the session's connection. If the database went away
    meanwhile (an outage, a restart, ``KILL``), the rollback raises, and it raises
    in Flask's teardown, outside every error handler: gunicorn then replaced the
    finished response with its own empty 500. Here the failure is logged as one
    line (the error's class and code, never its SQL or parameters, which may hold
    secrets) and the session is dropped from the registry all the same, so the
    next context starts clean; the pool has invalidated the dead connection.
    Overrides Flask-SQLAlchemy 3.1's ``_teardown_session`` (private, hence the pin
    in requirements.txt and tests/integration/test_teardown_mariadb.py).
    """

    def _teardown_session(self, exc: BaseException | None) -> None:
        if not self.session.registry.has():
            return  # this context never opened a session (say /healthz): nothing to close
        try:
            self.session.remove()
        except Exception as error:  # noqa: BLE001 - any failure here must not become a 500
            cause = getattr(error, "orig", None) or error
            code = next(iter(getattr(cause, "args", ())), None)
            log.warning("database session cleanup failed, connection discarded: %s%s",
                        type(cause).__name__, f" (error {code})" if isinstance(code, int) else "")
            self.session.registry.clear()


db = SQLAlchemy(model_class=Base)
cache = Cache()
redis_cache = FlaskRedis(config_prefix="REDIS", **_REDIS_OPTIONS)
redis_coord = FlaskRedis(config_prefix="REDIS2", **_REDIS_OPTIONS)
