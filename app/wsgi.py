"""WSGI entry point for gunicorn: `gunicorn app.wsgi:app`.

A configuration error (say, a secret missing in production) stops the worker
with one readable line instead of a traceback; gunicorn then exits.
"""
import sys

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    print(f"vigil: configuration error: {exc}", file=sys.stderr, flush=True)
    sys.exit(2)
