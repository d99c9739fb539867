"""Vigil's benchmarks: ``python -m bench NAME [--json] [options]``.

Each benchmark is one module, ``bench/NAME.py``, exposing ``run(args) -> dict``
and ``table(result) -> str`` (and optionally ``add_arguments(parser)`` for its
own options). ``bench/__main__.py`` finds the module by name; ``bench/common.py``
holds what they share (percentiles, tables, progress lines, teardown).
"""
