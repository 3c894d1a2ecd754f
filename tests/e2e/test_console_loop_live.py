"""The loop of the console, as production runs it: gunicorn serving the app from a process of its own (the
README's worker class, queued WeChat replies), `flask worker` processes running every job from Redis, PostgreSQL.
Only WeChat is the loopback fake. A citizen reports in the simulator, the report appears in the dispatcher's
open queue without a reload, the dispatcher answers and dispatches, and the simulator shows both pushed."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from casework import seed
from casework.db import db
from tests.e2e.test_console_loop_browser import the_loop
from tests.wechat_side import wechat_config

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
GUNICORN = ["-w", "2", "-k", "gthread", "--threads", "8"]  # the README's worker class, fewer processes

pytestmark = pytest.mark.needs_postgresql


def listening() -> socket.socket:
    """A loopback socket bound and listening here, handed to gunicorn (no pick-a-port-then-bind race)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    return output or ""


@pytest.fixture
def production(make_app, fake, redis, redis_url, tmp_path):
    """The base URL of gunicorn serving the app on PostgreSQL and Redis, with worker processes beside it."""
    sock = listening()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = {
        **wechat_config(fake),
        "WECHAT_REPLY_MODE": "queued",
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": base_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "SECRET_KEY": "live-console-secret",
    }
    app = make_app(**settings)  # migrates and empties this slot's PostgreSQL database
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
        env = {
            **os.environ,
            **{
                name: ("yes" if value else "no") if isinstance(value, bool) else str(value)
                for name, value in settings.items()
            },
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "FLASK_APP": "wsgi",
            "WX110_ENV_FILE": str(tmp_path / "no.env"),
        }
        db.session.remove()
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN, "-b", f"fd://{sock.fileno()}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            pass_fds=(sock.fileno(),),
        )
    ]
    sock.close()  # gunicorn holds its own copy
    started += [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--no-fork"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for _ in range(WORKERS)
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            assert started[0].poll() is None, stop(started[0])
            try:
                ready = requests.get(f"{base_url}/readyz", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):  # queued on the socket until gunicorn serves
                assert time.monotonic() < deadline, "gunicorn never answered"
                time.sleep(0.3)
        assert ready.status_code == 200 and ready.json()["redis"]["mode"] != "in-process", ready.text
        yield base_url
    finally:
        logs = [stop(process) for process in started]
    assert all(process.returncode is not None for process in started), logs


def test_the_loop_against_gunicorn_workers_postgresql_and_redis(browser, production):
    the_loop(browser, production, number_from_pushes=True)
