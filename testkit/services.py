"""The rule for tests that need a real service (MariaDB, Redis, an apiserver, Docker...).

On a laptop a missing service skips the test with the reason. In CI (``CI=true``)
the same situation fails the test: a green CI must mean every real part ran.
"""
from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def service_missing(reason: str) -> None:
    """Skip (laptop) or fail (CI) the current test because `reason`."""
    if IN_CI:
        pytest.fail(f"required service missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str, *, hint: str = "") -> str:
    """Return the path of `name` on PATH, or skip/fail with a hint."""
    path = shutil.which(name)
    if path is None:
        service_missing(f"{name} not found on PATH{': ' + hint if hint else ''}")
    return path  # type: ignore[return-value]
