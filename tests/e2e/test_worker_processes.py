"""The production job path: `flask worker` (forking rq worker) and `flask scheduler` (rq cron) as processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rq import Queue

from casework import citizens, complaints, incidents, subscriptions
from casework.db import db
from casework.models import Complaint
from casework.status import Channel

ROOT = Path(__file__).resolve().parents[2]


def cli_env(app, redis_url):
    return {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
    }


def test_flask_worker_runs_outbox_jobs_in_forked_work_horses(world, make_app, redis, redis_url):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-worker")
        incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="车被刮了")
        complaint_id = complaints.file(citizen=citizen, incident=incident, body="没人处理").id
        db.session.remove()
    assert Queue("default", connection=redis).count >= 3

    done = subprocess.run(
        [sys.executable, "-m", "flask", "worker", "--burst"],
        cwd=ROOT,
        env=cli_env(app, redis_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        assert complaint.status == "routed"
        assert complaint.incident.unit_id is not None  # the incident.route job ran too


def test_flask_scheduler_enqueues_the_periodic_relay(make_app, redis, redis_url):
    app = make_app(REDIS_URL=redis_url)
    registered = set(subscriptions.of(app).sweeps)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "scheduler"],
        cwd=ROOT,
        env=cli_env(app, redis_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        queue, deadline, sweeps = Queue("default", connection=redis), time.monotonic() + 60, set()
        while time.monotonic() < deadline and registered - sweeps and process.poll() is None:
            time.sleep(0.2)
            sweeps = {job.args[0] for job in queue.get_jobs() if job.func_name == "server.worker.run_periodic"}
        assert "outbox.relay" in sweeps
        assert sweeps == registered, "every registered sweep is scheduled"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=30)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status and "\nState:\tZ" not in status:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_a_worker_killed_with_9_leaves_no_scheduler_child_behind(make_app, redis, redis_url):
    app = make_app(REDIS_URL=redis_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", "--no-fork"],
        cwd=ROOT,
        env=cli_env(app, redis_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, children = time.monotonic() + 60, []
        while not children and time.monotonic() < deadline:
            time.sleep(0.2)
            children = _children(process.pid)  # rq's scheduler process, forked once the worker is up
        assert children, "the worker started no scheduler process"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(child) for child in children), "the scheduler child outlived its worker"
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
