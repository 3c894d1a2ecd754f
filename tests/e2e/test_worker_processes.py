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
