"""The shared test harness that tests/ (every layer) and bench/ import.

One module a kind of thing (services, servers, fixtures, controlplane, http, chromium,
probing, ...); none imports a test module. tests/README.md says what each one holds.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository: testkit/ sits at its top
