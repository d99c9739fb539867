"""The ceiling ``bench web`` compares Vigil with: a bare Flask "hello" app (not Vigil code).

``gunicorn -c gunicorn.conf.py bench._bare_app:app``: Vigil's gunicorn settings. One
route, ``/healthz``, answering 200 "ok" and, like Vigil under
``VIGIL_EXPOSE_WORKER``, the worker's pid in ``X-Vigil-Worker`` (the load
generator spreads its keep-alive connections over the workers with it). Nothing
else: no extensions, no hooks, no secret key, so no session is opened. Whatever
Vigil spends per request beyond this is its own overhead. (The one setting,
VIGIL_TIMER_BACKEND=off, answers gunicorn.conf.py's post_worker_init: no timers.)
"""
from __future__ import annotations

import os

from flask import Flask

app = Flask(__name__)
# gunicorn.conf.py's post_worker_init asks the app whether to start Vigil's timers.
app.config["VIGIL_TIMER_BACKEND"] = "off"


@app.route("/healthz")
def healthz():
    return "ok", {"X-Vigil-Worker": str(os.getpid())}
