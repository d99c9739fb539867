"""`python -m bench._check_process run check-monitors ...`: the job CLI as a CronJob pod runs it
(`python -m app.jobs`: same entry point, same gc handling, same os._exit), plus one INFO log
line from the job (how many probes ran at once) on stderr, for bench/checks.py to read."""
import gc

gc.disable()

import logging  # noqa: E402
import sys  # noqa: E402

handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
job_log = logging.getLogger("vigil.jobs.check-monitors")
job_log.addHandler(handler)
job_log.setLevel(logging.INFO)

from app.jobs.cli import exit_now, main  # noqa: E402

exit_now(main())
