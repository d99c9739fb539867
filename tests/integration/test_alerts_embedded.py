"""The embedded default (`python -m app`, what `make run` runs) sends alerts too: with no
servers and no settings, a channel saved in its database gets the DOWN message from the
in-process check-monitors and dispatcher (the channel key is generated into the instance
folder and shared by every process that uses it)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import port_for
import pytest
import requests

from testkit import ROOT
from testkit.alerts import FlipTargets, WebhookReceiver
from testkit.monitors import make_monitor
from testkit.polling import wait_for

pytestmark = pytest.mark.slow


def test_make_run_sends_a_down_message_with_no_configuration(tmp_path, monkeypatch):
    from app import create_app
    from app.alerts import channel_service
    from app.extensions import db
    from app.models import Channel

    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VIGIL_") and k not in ("DATABASE_URL", "REDIS_URL", "REDIS2_URL", "SECRET_KEY")}
    port = port_for.select_random()
    env.update(VIGIL_INSTANCE_PATH=str(instance), PORT=str(port))
    receiver, targets = WebhookReceiver(), FlipTargets()
    process = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env, text=True,
                               stdout=open(tmp_path / "out.log", "a"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        assert wait_for(lambda: _healthy(port), timeout=60), (tmp_path / "out.log").read_text()[-2000:]
        # The same instance folder as the server: the same SQLite file and channel key.
        monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(instance))
        for name in ("DATABASE_URL", "VIGIL_ENV", "VIGIL_CHANNEL_KEYS"):
            monkeypatch.delenv(name, raising=False)
        app = create_app({"REDIS_URL": None, "REDIS2_URL": None})
        targets.status["down"] = 503
        with app.app_context():
            hook = channel_service.save(Channel(), name="hook", url=receiver.url, is_default=False)
            monitor = make_monitor("broken", targets.url("down"), is_up=True, streak=1)
            monitor.channels = [hook]
            db.session.add(monitor)
            db.session.commit()
            db.session.remove()
        # check-monitors runs every minute in-process, then sends at once.
        assert wait_for(lambda: receiver.deliveries, timeout=150, interval=1), \
            (tmp_path / "out.log").read_text()[-3000:]
        assert [d.title for d in receiver.deliveries] == ["DOWN: broken"]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        receiver.close()
        targets.close()


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
