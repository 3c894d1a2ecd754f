"""In-process mode: an officer's action taken by another process (here `flask incident status`, a real process on
the same database) reaches the citizen within seconds, while the web process serves; a process that ends before
running its jobs hands them back to the web process's relay."""

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from casework import citizens, incidents, seed
from casework.db import db
from casework.models import Incident, OutboxMessage
from casework.status import Channel
from server import jobs
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator

ROOT = Path(__file__).resolve().parents[2]
FLASK = (sys.executable, "-m", "flask")
PUSH_WITHIN_SECONDS = 10  # what the issue promises the citizen; the relay runs every 2 s after a 5 s grace


def cli_env(app, tmp_path) -> dict:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return {
        **os.environ,
        "FLASK_APP": "wsgi",
        "WX110_ENV_FILE": str(empty),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": "",
        **{key: str(app.config[key]) for key in ("WECHAT_API_BASE", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN")},
        "WECHAT_AES_KEY": app.config["WECHAT_AES_KEY"],
        "WECHAT_PROGRESS_TEMPLATE_ID": app.config["WECHAT_PROGRESS_TEMPLATE_ID"],
        "MEDIA_ROOT": str(tmp_path / "media"),
    }


def test_a_status_change_from_a_cli_process_reaches_the_citizen_within_seconds(make_app, fake, tmp_path):
    app = make_app(**wechat_config(fake, MEDIA_ROOT=str(tmp_path / "media")))
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
    openid = "o-cli-status"
    timer = jobs.Timer(app)  # what the web process starts on its first request (tests start it by hand)
    with serving(app) as url:
        timer.start()
        try:
            Sender(url).reply(simulator.message("text", openid, "楼道里有烟味"))
            with app.app_context():
                db.session.rollback()
                app.extensions["wx110.dispatcher"].drain()
                number = db.session.scalar(select(Incident.number))
            done = subprocess.run(
                [*FLASK, "incident", "status", number, "dispatched", "--officer", "100007", "--note", "民警已出发"],
                cwd=ROOT,
                env=cli_env(app, tmp_path),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            assert "已派警" in done.stdout
            deadline = time.monotonic() + PUSH_WITHIN_SECONDS
            pushed: list[str] = []
            while time.monotonic() < deadline and not pushed:
                pushed = [
                    c.body["text"]["content"]
                    for c in fake.sent("/cgi-bin/message/custom/send")
                    if c.body["touser"] == openid and "民警已出发" in c.body["text"]["content"]
                ]
                time.sleep(0.2)
            undone = _wait_until_every_job_is_done(app)  # the CLI's other jobs (e.g. the mini-program's) too
        finally:
            timer.stop.set()
    assert len(pushed) == 1 and number in pushed[0] and "已派警" in pushed[0]
    assert not undone, undone


def _wait_until_every_job_is_done(app, bound: float = 60) -> list:
    deadline = time.monotonic() + bound
    while True:
        with app.app_context():
            undone = db.session.scalars(select(OutboxMessage).where(OutboxMessage.done_at.is_(None))).all()
            found = [(m.id, m.job, m.dispatched_at, m.last_error) for m in undone]
            db.session.remove()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_process_that_ends_hands_its_jobs_not_started_back_to_the_relay(make_app, fake):
    app = make_app(**wechat_config(fake))
    with app.app_context():
        seed.load_world()
        db.session.commit()
    other = make_app(**wechat_config(fake))  # the other process's app, with its own job thread
    other.extensions["wx110.dispatcher"]._closing.set()  # it is exiting: its thread takes no new job
    with other.app_context():
        citizen = citizens.identify(oa_openid="o-hand-back")
        incidents.report(citizen=citizen, channel=Channel.WECHAT, description="门口有人打架")
        handed = other.extensions["wx110.dispatcher"].hand_back()
        db.session.remove()
    assert handed
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(handed))).all()
        assert all(row.dispatched_at is None and row.done_at is None for row in rows)
        assert jobs.relay_pending(grace_seconds=0) == len(handed)  # the web process's relay takes them
        db.session.rollback()
        app.extensions["wx110.dispatcher"].drain()
        assert db.session.scalar(select(Incident)).unit_id is not None  # the routing job ran
