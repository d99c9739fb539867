"""`python -m app.jobs`: see app/jobs/cli.py.

Garbage collection is paused while the app and its libraries are imported (the
import-time objects are long-lived; collecting them repeatedly only delays the
job), and the cli freezes and re-enables it just before the job body runs.
"""
import gc

gc.disable()

from app.jobs.cli import exit_now, main  # noqa: E402

exit_now(main())
