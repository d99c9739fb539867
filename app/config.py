"""Configuration from the environment (12-factor).

Every setting Vigil reads is declared once in ``SETTINGS``: its environment
variable, the Flask config key, how to parse it, its default and one line of
documentation. The README's table is checked against this list by a test, so the
two cannot drift.

Guarantees:
- In production (``VIGIL_ENV=production``) no secret has a default: a missing
  ``SECRET_KEY``, ``DATABASE_URL``, ``REDIS_URL`` or ``REDIS2_URL`` stops start-up
  with one readable line (``ConfigError``), never a half-configured app.
- In development (the embedded default) everything has a default: SQLite in the
  instance folder, in-process Redis stand-ins, and a secret key generated once and
  kept in the instance folder so that every worker and restart shares it. Templates
  are reloaded when their file changes (`skaffold dev`'s file sync), without a restart.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is fit for a user."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"expected a positive whole number, got {raw!r}")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(f"expected 0 or a positive whole number, got {raw!r}")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"expected a positive number, got {raw!r}")
    return value


# Where no monitor may point by default: link-local (169.254.0.0/16 holds the metadata
# service of AWS, GCP, Azure and OpenStack), and the other clouds' metadata addresses.
DEFAULT_PROBE_DENY = "169.254.0.0/16,fe80::/10,fd00:ec2::254/128,100.100.100.200/32,168.63.129.16/32"


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A comma-separated list of CIDRs; `none` for an empty list."""
    if raw.strip().lower() == "none":
        return ()
    networks = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"expected CIDRs separated by commas (or none), got {item!r}") from None
    return tuple(networks)


def _fernet_keys(raw: str) -> tuple[str, ...]:
    """Comma-separated Fernet keys (the first encrypts, all decrypt: rotation)."""
    from cryptography.fernet import Fernet

    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                             "make one with `python -m app.alerts.keygen`)") from None
    return keys


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


@dataclass(frozen=True)
class Setting:
    env: str
    key: str
    parse: Callable[[str], Any]
    default: Any
    doc: str
    secret_in_production: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("VIGIL_ENV", "VIGIL_ENV", _choice("development", "production", "testing"),
            "development", "`production` requires every secret below and turns on secure cookies"),
    Setting("SECRET_KEY", "SECRET_KEY", str, None,
            "signs sessions and CSRF tokens; generated into the instance folder in development",
            secret_in_production=True),
    Setting("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", str, None,
            "SQLAlchemy URL, e.g. `mysql+pymysql://user:pw@host/vigil`; default SQLite in the instance folder",
            secret_in_production=True),
    Setting("REDIS_URL", "REDIS_URL", str, None,
            "Redis for the shared cache; unset: an in-process stand-in (development only)",
            secret_in_production=True),
    Setting("REDIS2_URL", "REDIS2_URL", str, None,
            "Redis for coordination (failed-login counts, the timer leader's heartbeat); unset: in-process stand-in",
            secret_in_production=True),
    Setting("VIGIL_CACHE", "VIGIL_CACHE", _choice("redis", "process", "none"), "redis",
            "dashboard cache: `redis` (shared, default), `none`, or `process` (per-worker; for the benchmark only)"),
    Setting("VIGIL_CACHE_TTL", "VIGIL_CACHE_TTL", _positive_int, 60,
            "seconds a cached dashboard summary lives (edits invalidate it at once)"),
    Setting("VIGIL_PUBLIC_READS", "VIGIL_PUBLIC_READS", _bool, None,
            "whether anonymous visitors get a read-only view (no URLs, job history or process details); default off in production, on otherwise"),
    Setting("VIGIL_ADMIN_USER", "VIGIL_ADMIN_USER", str, "admin",
            "name of the admin account `flask --app app vigil create-admin` makes"),
    Setting("VIGIL_ADMIN_PASSWORD", "VIGIL_ADMIN_PASSWORD", str, None,
            "password for that account; unset: one is generated and printed once"),
    Setting("VIGIL_LOGIN_MAX_FAILURES", "VIGIL_LOGIN_MAX_FAILURES", _positive_int, 5,
            "failed logins allowed per user and client address within the window below"),
    Setting("VIGIL_LOGIN_WINDOW_SECONDS", "VIGIL_LOGIN_WINDOW_SECONDS", _positive_int, 300,
            "window of the failed-login limit (counted in REDIS2)"),
    Setting("VIGIL_HISTORY_DAYS", "VIGIL_HISTORY_DAYS", _positive_int, 30,
            "days of raw check results kept by the `prune-history` job"),
    Setting("VIGIL_ROLLUP_DAYS", "VIGIL_ROLLUP_DAYS", _positive_int, 400,
            "days of hourly rollups (what charts older than a day read) kept by the `prune-history` job"),
    Setting("VIGIL_TIMER_BACKEND", "VIGIL_TIMER_BACKEND", _choice("host", "kubernetes", "off"), "host",
            "who may run the in-process timers: `host` (one process per host, flock), `kubernetes` (one per cluster, Lease), `off`"),
    Setting("VIGIL_LEASE_NAME", "VIGIL_LEASE_NAME", str, "vigil-timers",
            "name of the coordination.k8s.io Lease the timer processes elect a leader with"),
    Setting("VIGIL_LEASE_NAMESPACE", "VIGIL_LEASE_NAMESPACE", str, None,
            "namespace of that Lease; default the pod's own (from its service account)"),
    Setting("VIGIL_LEASE_DURATION", "VIGIL_LEASE_DURATION", _positive_int, 15,
            "whole seconds a follower waits on an unrenewed Lease before taking over (client-go: 15)"),
    Setting("VIGIL_LEASE_RENEW_DEADLINE", "VIGIL_LEASE_RENEW_DEADLINE", _positive_float, 10.0,
            "seconds the leader may go without renewing before it stops its timers (client-go: 10)"),
    Setting("VIGIL_LEASE_RETRY_PERIOD", "VIGIL_LEASE_RETRY_PERIOD", _positive_float, 2.0,
            "seconds between renewals and acquisition attempts (client-go: 2)"),
    Setting("VIGIL_RUN_NOW", "VIGIL_RUN_NOW", _choice("auto", "kubernetes", "local"), "auto",
            "how Run now starts a job: `kubernetes` (a Job from the CronJob), `local` (a subprocess), `auto` (kubernetes inside a cluster)"),
    Setting("VIGIL_CRONJOB_PREFIX", "VIGIL_CRONJOB_PREFIX", str, "vigil",
            "CronJob names are `<prefix>-<job>` (the chart sets its release's full name)"),
    Setting("VIGIL_KUBE_NAMESPACE", "VIGIL_KUBE_NAMESPACE", str, None,
            "namespace of Vigil's CronJobs; default the pod's own"),
    Setting("VIGIL_LOCK_DIR", "VIGIL_LOCK_DIR", str, None,
            "directory of the host-local timer lock; default the instance folder"),
    Setting("VIGIL_CRON_IN_PROCESS", "VIGIL_CRON_IN_PROCESS", _bool, None,
            "also run the cron jobs inside the timer process (no CronJobs); default on in development, off otherwise"),
    Setting("VIGIL_CHECK_ON_SAVE", "VIGIL_CHECK_ON_SAVE", _bool, None,
            "start a check-monitors run (as Run now does) when a monitor is created or resumed, so its first check comes within seconds; default on, off under VIGIL_ENV=testing"),
    Setting("VIGIL_CHECK_CONCURRENCY", "VIGIL_CHECK_CONCURRENCY", _positive_int, 512,
            "the most monitors `check-monitors` probes at once (per shard): each run uses as many as the monitors due need to finish within the deadline (from their last latencies), at least 16, at most this"),
    Setting("VIGIL_SEED_URL", "VIGIL_SEED_URL", str, "http://127.0.0.1:8000/healthz",
            "URL of the monitor seeded into an empty database (Vigil's own /healthz)"),
    Setting("VIGIL_MAX_BODY_BYTES", "MAX_CONTENT_LENGTH", _positive_int, 64 * 1024,
            "largest request body accepted, with Content-Length or chunked; larger ones get 413"),
    Setting("VIGIL_PROBE_DENY", "VIGIL_PROBE_DENY", _networks, _networks(DEFAULT_PROBE_DENY),
            "CIDRs no check may connect to, checked after DNS on every check; default link-local and cloud metadata (`none`: no list)"),
    Setting("VIGIL_METRICS_TOKEN", "VIGIL_METRICS_TOKEN", str, None,
            "if set, /metrics answers only requests with `Authorization: Bearer <token>` (a secret; never logged)"),
    Setting("VIGIL_CHANNEL_KEYS", "VIGIL_CHANNEL_KEYS", _fernet_keys, None,
            "Fernet keys that encrypt channels' Apprise URLs at rest, comma-separated: the first encrypts, all decrypt (rotation); generated into the instance folder in development; without it in production no channel can be saved or used"),
    Setting("VIGIL_NOTIFY_RETRY_SECONDS", "VIGIL_NOTIFY_RETRY_SECONDS", _positive_float, 15.0,
            "first delay before a failed notification is retried; it doubles each time, with jitter, up to the next setting"),
    Setting("VIGIL_NOTIFY_MAX_BACKOFF_SECONDS", "VIGIL_NOTIFY_MAX_BACKOFF_SECONDS", _positive_float, 600.0,
            "longest delay between two attempts of one notification (so a receiver back after an outage hears within it)"),
    Setting("VIGIL_NOTIFY_MAX_ATTEMPTS", "VIGIL_NOTIFY_MAX_ATTEMPTS", _positive_int, 10,
            "sends tried per notification before it is marked failed (shown on the monitor's page)"),
    Setting("VIGIL_TRUSTED_PROXIES", "VIGIL_TRUSTED_PROXIES", _non_negative_int, 0,
            "how many proxies (Ingress, load balancer) set X-Forwarded-*; their values are trusted only then (the chart sets 1)"),
    Setting("VIGIL_EXPOSE_WORKER", "VIGIL_EXPOSE_WORKER", _bool, False,
            "add an `X-Vigil-Worker` header (process id) to responses; for tests and debugging"),
    Setting("PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROC_DIR", str, None,
            "directory for prometheus_client's multi-process mode; set it when gunicorn runs several workers"),
)


def load(environ: Mapping[str, str] | None = None, *, instance_path: str,
         overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read every setting from `environ`; raise ConfigError with a readable message.

    `overrides` (already parsed values, by config key) are applied before the rules that
    derive defaults from other settings (so VIGIL_ENV=testing given here turns off what
    testing turns off) and again after them (so an explicit value always wins)."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None or raw == "":
            config[setting.key] = setting.default
            continue
        try:
            config[setting.key] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.env}: {exc}") from None
    config.update(overrides or {})
    _apply_environment_rules(config, instance_path)
    config.update(overrides or {})
    return config


def _apply_environment_rules(config: dict[str, Any], instance_path: str) -> None:
    production = config["VIGIL_ENV"] == "production"
    _check_lease_timings(config)
    if production:
        missing = [s.env for s in SETTINGS if s.secret_in_production and config[s.key] is None]
        if missing:
            raise ConfigError("production needs these settings: " + ", ".join(missing))
        if len(config["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY: use at least 32 characters in production")
    else:
        if config["SQLALCHEMY_DATABASE_URI"] is None:
            config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(instance_path) / "vigil.db")
        if config["SECRET_KEY"] is None:
            config["SECRET_KEY"] = _instance_secret(Path(instance_path))
        if config["VIGIL_CHANNEL_KEYS"] is None:
            config["VIGIL_CHANNEL_KEYS"] = (_instance_secret(Path(instance_path), "channel_key", _fernet_key),)
    if config["VIGIL_PUBLIC_READS"] is None:
        config["VIGIL_PUBLIC_READS"] = not production
    if config["VIGIL_CHECK_ON_SAVE"] is None:
        config["VIGIL_CHECK_ON_SAVE"] = config["VIGIL_ENV"] != "testing"
    if config["VIGIL_CRON_IN_PROCESS"] is None:
        config["VIGIL_CRON_IN_PROCESS"] = config["VIGIL_ENV"] == "development"
    # `skaffold dev` syncs edited templates into running pods: Jinja re-reads a template
    # whose file changed instead of serving its cached copy (a stat per render, so in
    # development only; None elsewhere is Flask's default: follow debug mode).
    config["TEMPLATES_AUTO_RELOAD"] = True if config["VIGIL_ENV"] == "development" else None
    config["SESSION_COOKIE_SECURE"] = production
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_SECURE"] = production
    config["WTF_CSRF_TIME_LIMIT"] = None  # tokens live as long as the session
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(config["SQLALCHEMY_DATABASE_URI"])


def _check_lease_timings(config: dict[str, Any]) -> None:
    """The election's rules (app/scheduling/election_timing.py), checked at start-up."""
    from app.scheduling.election_timing import ElectionTiming

    names = ("VIGIL_LEASE_DURATION", "VIGIL_LEASE_RENEW_DEADLINE", "VIGIL_LEASE_RETRY_PERIOD")
    try:
        ElectionTiming(*(config[name] for name in names))
    except ValueError as exc:
        given = ", ".join(f"{name}={config[name]:g}" for name in names)
        raise ConfigError(f"{names[0]}, {names[1]}, {names[2]}: {exc} (got {given})") from None


def engine_options(url: str) -> dict[str, Any]:
    """Pool settings: MySQL drops idle connections, so ping and recycle them."""
    if url.startswith("mysql"):
        return {"pool_pre_ping": True, "pool_recycle": 280, "pool_size": 5, "max_overflow": 5}
    if url.startswith("sqlite"):
        # Several threads (gthread) share the file; wait for locks instead of failing.
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True}


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _instance_secret(instance: Path, name: str = "secret_key",
                     make: Callable[[], str] = lambda: secrets.token_hex(32)) -> str:
    """A per-installation secret, shared by every worker through the instance folder."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    candidate = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race; use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(candidate)
    return candidate
