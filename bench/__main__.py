"""``python -m bench NAME [--json] [options]``: run one benchmark and print its result.

NAME maps to the module ``bench/NAME.py``, which exposes ``run(args) -> dict``
and ``table(result) -> str``, and may expose ``add_arguments(parser)`` for its
own options (``python -m bench NAME --help`` lists them). Without ``--json`` the
human table is printed; with it, ``json.dumps(result)``. Progress goes to stderr.

Exit codes: 0 done; 1 the benchmark could not run (the reason on stderr);
2 usage error, e.g. an unknown NAME (one line on stderr); 130 interrupted
(servers the benchmark started are stopped first).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import pkgutil
import re
import sys
from types import ModuleType

import bench
from bench.common import BenchError, sigterm_as_interrupt

# Modules of the package that are not benchmarks (the shared helpers and the load generator).
_NOT_BENCHMARKS = {"common", "loadgen"}
_NAME = re.compile(r"[a-z][a-z0-9_]*")
USAGE = "usage: python -m bench NAME [--json] [options]"


def available() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(bench.__path__)
                  if _NAME.fullmatch(info.name) and info.name not in _NOT_BENCHMARKS)


def load(name: str) -> ModuleType | None:
    """The benchmark module called `name`, or None if there is none."""
    if not _NAME.fullmatch(name) or name in _NOT_BENCHMARKS:
        return None
    if importlib.util.find_spec(f"bench.{name}") is None:
        return None
    # Imported only once we know it exists: an ImportError inside it is a real error.
    return importlib.import_module(f"bench.{name}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = ", ".join(available())
    if not argv or argv[0] in ("-h", "--help"):
        stream = sys.stdout if argv else sys.stderr
        print(f"{USAGE}\nbenchmarks: {names}", file=stream)
        return 0 if argv else 2
    name = argv[0]
    module = load(name)
    if module is None:
        print(f"bench: unknown benchmark {name!r} (available: {names})", file=sys.stderr)
        return 2
    if not (callable(getattr(module, "run", None)) and callable(getattr(module, "table", None))):
        print(f"bench: bench/{name}.py must define run(args) and table(result)", file=sys.stderr)
        return 2

    summary = (module.__doc__ or "").strip().splitlines()
    parser = argparse.ArgumentParser(prog=f"python -m bench {name}",
                                     description=summary[0] if summary else None)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    if callable(getattr(module, "add_arguments", None)):
        module.add_arguments(parser)
    args = parser.parse_args(argv[1:])  # exits 2 with a message on bad options

    try:
        with sigterm_as_interrupt():
            result = module.run(args)
    except KeyboardInterrupt:
        print(f"bench {name}: interrupted", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench {name}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else module.table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
