"""The README's architecture table names every module and package of app/, so a newcomer
finds each one there (a new module without a line fails here)."""
from __future__ import annotations

import re

from testkit import ROOT


def test_the_architecture_table_names_every_module_of_app():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(app/[\w/.]+)`", table))
    modules = {f"app/{path.name}" for path in (ROOT / "app").glob("*.py")}
    packages = {f"app/{path.parent.name}/" for path in (ROOT / "app").glob("*/__init__.py")}
    assert modules | packages <= named, sorted((modules | packages) - named)
