"""Which shard checks which monitor: a stable hash of the monitor's id.

    shard_of(monitor_id, shards) -> k in 0..shards-1
    due.where(in_shard(Monitor.id, k, shards))   # the same rule, in SQL

check-monitors runs as an Indexed Job of n pods (the chart's `jobs.check-monitors.shards`);
pod k checks the due monitors with ``shard_of(id, n) == k``.

Guarantees:
- Every monitor belongs to exactly one shard of n, for every n >= 1: the rule is a
  function of (id, n) into 0..n-1, so n shards that each check their own monitors check
  every due monitor exactly once per slot, and no two shards ever hold a monitor's row lock
  for the same check. n = 1 is "every monitor".
- Stable: the same id lands in the same shard in every process, every run, on every
  Python (no ``hash()``, whose seed changes per process) and in SQL (``in_shard``
  computes the same integer arithmetic, with no division, on SQLite and MariaDB; a test
  compares the two on both).
- Balanced for any id pattern: ids are multiplied by 2654435761 (Knuth's multiplicative
  hash, 2^32 / golden ratio) modulo 2^32 and the HIGH bits pick the shard
  (``h * n >> 32``), so ids that share a stride (auto_increment_increment = 3 on a
  three-node Galera cluster makes every id 1 mod 3) still spread over all shards,
  which ``id % n`` would not.

Caveat: changing n moves monitors between shards. That is harmless (a slot's runs all see
the same n, from the same Job), but a run of the old n and one of the new n for the same
slot would not be disjoint: change the value between slots, as `helm upgrade` does.
"""
from __future__ import annotations

import sqlalchemy as sa

MULTIPLIER = 2654435761
SPAN = 1 << 32
MAX_SHARDS = 100  # the chart allows as many (h * n stays far below 2**63 in SQL)


def shard_of(monitor_id: int, shards: int) -> int:
    """The shard 0..shards-1 that checks `monitor_id`."""
    if not 1 <= shards <= MAX_SHARDS:
        raise ValueError(f"shards must be 1 to {MAX_SHARDS}, not {shards}")
    return ((monitor_id * MULTIPLIER) % SPAN) * shards >> 32


def in_shard(column: sa.ColumnElement[int], shard: int, shards: int) -> sa.ColumnElement[bool]:
    """SQL: `column`'s id falls in `shard` of `shards` (true for every row when shards is 1)."""
    if not 1 <= shards <= MAX_SHARDS or not 0 <= shard < shards:
        raise ValueError(f"shard {shard} of {shards} does not exist")
    if shards == 1:
        return sa.true()
    # shard k holds h with k * 2^32 <= h * n < (k + 1) * 2^32: comparisons, no division
    # (MariaDB's "/" is decimal, and rounding at a boundary would put an id in two shards).
    scaled = ((column * sa.literal(MULTIPLIER, sa.BigInteger)) % sa.literal(SPAN, sa.BigInteger)) \
        * sa.literal(shards, sa.BigInteger)
    return sa.and_(scaled >= sa.literal(shard * SPAN, sa.BigInteger),
                   scaled < sa.literal((shard + 1) * SPAN, sa.BigInteger))
