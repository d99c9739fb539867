"""Seven quick clicks on Run now start one run: 4 gunicorn workers on MariaDB, seven signed-in
browsers clicking at once, real job subprocesses. Then, once that run has finished, Run now
starts the next one."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from testkit.http import create_admin, csrf_token, logged_in_session
from testkit.polling import wait_for

JOB = "rollup-stats"
PASSWORD = "run-now-test-password"


def manual_runs(database_url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(
                "SELECT status, host FROM job_runs WHERE job = :job AND `trigger` = 'manual'"), {"job": JOB})]
    finally:
        engine.dispose()


def test_seven_concurrent_clicks_start_one_run(gunicorn, server_env, database_url):
    create_admin(server_env, PASSWORD)
    server = gunicorn(server_env, workers=4)
    page = f"{server.base_url}/jobs/{JOB}"
    browsers = [logged_in_session(server.base_url, PASSWORD) for _ in range(7)]
    tokens = [csrf_token(browser, page) for browser in browsers]

    def click(i: int) -> int:
        return browsers[i].post(page + "/run", data={"csrf_token": tokens[i]}, allow_redirects=False,
                                timeout=30).status_code

    with ThreadPoolExecutor(7) as pool:
        statuses = sorted(pool.map(click, range(7)))
    assert statuses == [302] + [409] * 6, statuses

    assert wait_for(lambda: [s for s, _ in manual_runs(database_url)] == ["succeeded"], timeout=60), \
        manual_runs(database_url)
    assert click(0) == 302  # the request was used by a run that started: open again
    assert wait_for(lambda: [s for s, _ in manual_runs(database_url)] == ["succeeded"] * 2, timeout=60), \
        manual_runs(database_url)
