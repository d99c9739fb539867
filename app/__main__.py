"""`python -m app`: the embedded default server, no other server needed.

It migrates the SQLite database, seeds the self-check monitor, creates the admin
account (printing a generated password once), then runs gunicorn with ONE
worker process and several threads. One process is deliberate: the embedded
Redis stand-in (fakeredis) lives in that process, so the cache is shared by
every thread and cannot scatter the way per-worker caches do. With real Redis
(REDIS_URL, REDIS2_URL) run gunicorn with gunicorn.conf.py and many workers.
The worker runs the timers and, here, the cron jobs too (VIGIL_CRON_IN_PROCESS
is on in development), behind the host-local leader gate.
"""
from __future__ import annotations

import os
import sys


def main() -> int:
    from flask_migrate import upgrade

    from app import create_app
    from app.commands import ensure_admin, seed_monitor
    from app.config import ConfigError

    port = os.environ.get("PORT", "8000")
    os.environ.setdefault("VIGIL_SEED_URL", f"http://127.0.0.1:{port}/healthz")
    try:
        app = create_app()
    except ConfigError as exc:
        print(f"vigil: configuration error: {exc}", file=sys.stderr)
        return 2
    with app.app_context():
        upgrade()
        seed_monitor()
        user, generated = ensure_admin()
        username = user.username  # read while the session is open
    if generated:
        print(f"\n  Admin account: {username}\n  Password:      {generated}\n"
              "  (shown once; set VIGIL_ADMIN_PASSWORD to choose it)\n", flush=True)
    print(f"  Vigil is serving http://127.0.0.1:{port}\n", flush=True)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    argv = [sys.executable, "-m", "gunicorn", "-c", os.path.join(root, "gunicorn.conf.py"),
            "--workers", "1", "--threads", "8", "--bind", f"127.0.0.1:{port}", "app.wsgi:app"]
    os.execv(sys.executable, argv)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
