"""What every benchmark shares: progress lines, percentiles, tables, safe teardown.

Guarantees:
- progress goes to stderr, so ``--json`` output on stdout stays machine-readable;
- ``percentile`` is nearest-rank (a value that was actually observed, no
  interpolation), so p99 of 1,000 samples is the 990th smallest;
- ``Teardown`` is an ExitStack whose callbacks all run, in reverse order, even
  when one of them fails, and while they run Ctrl-C and SIGTERM are ignored, so
  an impatient second Ctrl-C cannot leave a server behind.
  ``sigterm_as_interrupt()`` turns SIGTERM into KeyboardInterrupt so that a
  killed benchmark unwinds through its ``finally`` blocks like a Ctrl-C.
"""
from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence


class BenchError(RuntimeError):
    """A benchmark cannot run (missing binary, server failed to start); the message is for a user."""


_started = time.monotonic()


def progress(message: str) -> None:
    """One progress line on stderr, stamped with seconds since start."""
    print(f"[{time.monotonic() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def fmt(value: Any, digits: int = 1) -> str:
    """A number for a table cell: fixed digits, '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[c if isinstance(c, str) else fmt(c) for c in row]
                                           for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                         for i, cell in enumerate(row)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


class Teardown(contextlib.ExitStack):
    """ExitStack for servers: on exit, signals are ignored until every callback ran."""

    def __exit__(self, *exc_info: Any) -> bool:
        if threading.current_thread() is not threading.main_thread():
            return super().__exit__(*exc_info)
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return super().__exit__(*exc_info)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_later(self, name: str, stop: Callable[[], Any]) -> None:
        """Register `stop` to run at exit; a failure is reported, never hides the others."""
        def guarded() -> None:
            try:
                stop()
            except Exception as exc:  # teardown must go on; say what was left behind
                progress(f"warning: stopping {name} failed: {exc!r}")
        self.callback(guarded)


def remove_tree(path: str | Path, patience: float = 10.0) -> None:
    """rmtree, retried for `patience` seconds: a server interrupted while it starts
    (e.g. mysql_install_db's bootstrap mariadbd) may still be writing there for a moment."""
    deadline = time.monotonic() + patience
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if os.path.exists(path):
        progress(f"warning: could not remove {path}")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (so `finally` blocks run)."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- CPU accounting (Linux /proc) -----------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (not idle or iowait) since boot."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used by `root` and all its living descendants."""
    return sum(_process_cpu(pid) for pid in _tree(root))


def _tree(root: int) -> list[int]:
    """`root` and all its descendants (Linux: /proc/PID/task/TID/children)."""
    pids, pending = [], [root]
    while pending:
        pid = pending.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            continue  # exited meanwhile
    return pids


def _process_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
