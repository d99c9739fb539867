"""Extension instances only; each is bound to an app in app.create_app.

Flask-Migrate is not here: it imports Alembic and Mako, which only `flask db`
and the embedded server need, and every CronJob pod would pay for them at start
(see bench/jobstart). app.register_migrations binds it for those paths. For the
same reason CSRF and login live in app/web/extensions.py.
"""
from flask_caching import Cache
from flask_redis import FlaskRedis
from flask_sqlalchemy import SQLAlchemy
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.models.base import Base

# A Redis outage must cost a page milliseconds, not seconds: short socket timeouts, and
# one immediate retry (it heals a pooled connection that a Redis restart dropped) instead
# of redis-py's default of three retries with exponential backoff, about 4.7 s per call.
_REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "health_check_interval": 30,
                  "retry": Retry(NoBackoff(), 1)}

db = SQLAlchemy(model_class=Base)
cache = Cache()
redis_cache = FlaskRedis(config_prefix="REDIS", **_REDIS_OPTIONS)
redis_coord = FlaskRedis(config_prefix="REDIS2", **_REDIS_OPTIONS)
