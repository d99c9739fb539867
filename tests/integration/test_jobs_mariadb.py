"""Exactly one run per slot on real MariaDB, with real concurrent processes."""
from __future__ import annotations

import json

import sqlalchemy as sa

from testkit.jobcli import start_jobs_cli


def test_two_concurrent_runs_of_one_slot(database_url, redis_urls, tmp_path):
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_urls[0], "REDIS2_URL": redis_urls[1],
           "VIGIL_ENV": "testing", "VIGIL_TEST_SLEEP": "1", "VIGIL_INSTANCE_PATH": str(tmp_path)}
    processes = [start_jobs_cli("run", "test-ok", "--slot", "2026-03-01T10:00:00Z", env=env)
                 for _ in range(2)]
    results = [(p.wait(timeout=60), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0, 0], results
    outcomes = sorted(json.loads(out.strip().splitlines()[-1])["outcome"] for _, out, _ in results)
    assert outcomes == ["skipped", "succeeded"]
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT status FROM job_runs WHERE job = 'test-ok'")).all()
    finally:
        engine.dispose()
    assert [row.status for row in rows] == ["succeeded"]
