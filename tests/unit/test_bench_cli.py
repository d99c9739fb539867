"""The benchmark dispatcher's contract: known names run, unknown ones get one line and exit 2."""
import subprocess
import sys

import pytest

from testkit import ROOT


def bench(*args):
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_unknown_benchmark_is_a_usage_error():
    done = bench("no-such-bench")
    assert done.returncode == 2
    assert "unknown benchmark" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["web", "duplicates", "jobstart", "checks", "leader", "history", "rollups"])
def test_every_benchmark_documents_its_options(name):
    done = bench(name, "--help")
    assert done.returncode == 0, done.stderr
    assert "--json" in done.stdout
