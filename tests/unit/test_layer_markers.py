"""`pytest -m LAYER` selects that layer's tests (markers come from tests/conftest.py's
collection hook; a `pytestmark` in a conftest.py would be silently ignored)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from testkit import ROOT


@pytest.mark.parametrize("marker, directory", [("integration", "tests/integration/"),
                                               ("browser", "tests/browser/")])
def test_a_layer_marker_selects_exactly_that_layer(marker, directory):
    def collected(*args: str) -> set[str]:
        done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        return {line for line in done.stdout.splitlines() if "::" in line}

    layer = collected(directory)
    assert layer
    assert collected("-m", marker) == layer
