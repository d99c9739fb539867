"""gunicorn settings for Vigil's web process.

Worker hooks:
- the timer gate is taken after fork (``post_worker_init``), so one process per
  host (flock) or per cluster (Lease) runs the timers; on ``worker_exit`` the
  timers stop and the gate is released, so a sibling takes over at once;
- the Prometheus multi-process directory is created fresh before workers fork,
  and a dead worker's samples are retired (``child_exit``), so /metrics is
  correct across workers (app/metrics.py explains why). A directory this file made
  (PROMETHEUS_MULTIPROC_DIR unset) is removed when the master exits (``on_exit``);
  one given in the environment belongs to whoever gave it, and stays.
"""
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "1") == "1" else None
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
# Request limits. The app enforces its own (app/web/body_gate.py: request line 4094 bytes,
# header line 8190, gunicorn's defaults) and answers in its own shape, JSON under /api/.
# gunicorn's ceilings sit above them so that a request between the two reaches the app;
# beyond them gunicorn answers with its own HTML page before any app code runs (it has
# not read the path yet). 8190 is the most gunicorn allows for the request line; the
# header buffer is bounded by fields x field size (about 1.6 MB).
limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 100

# Marked in the environment, not in a variable here: a reload (SIGHUP) reads this file
# again, and by then the directory is set.
_MADE_HERE = "VIGIL_PROMETHEUS_DIR_MADE_BY_GUNICORN"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="vigil-prometheus-")
    os.environ[_MADE_HERE] = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def on_exit(server):
    directory = os.environ.get(_MADE_HERE)
    if directory and directory == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(directory, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    from app.scheduling.service import start_for_worker

    start_for_worker(worker.wsgi)


def worker_exit(server, worker):
    # Runs inside graceful_timeout: stopping the timers (bounded, 10 s) and releasing
    # the Lease take from the time requests get to finish. The chart's grace period
    # adds a release margin on top of graceful_timeout for this.
    from app.scheduling.service import stop_for_worker

    stop_for_worker()
