"""`python -m app.jobs`: see app/jobs/cli.py."""
import sys

from app.jobs.cli import main

sys.exit(main())
