"""Queued reply mode end to end: a served callback captures, a `flask worker --no-fork` process pushes the reply."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.db import db
from casework.models import Incident
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("flags", [["--burst", "--no-fork"], ["--burst"]], ids=["no-fork", "forking"])
def test_a_worker_process_turns_captured_messages_into_incidents_and_pushed_replies(
    make_app, fake, redis, redis_url, flags
):
    config = wechat_config(fake, REDIS_URL=redis_url, WECHAT_REPLY_MODE="queued")
    app = make_app(**config)
    messages = [
        simulator.message("text", f"o-worker-{i}", f"第{i}起:有人在楼下吵架", msg_id=9_200_000_000 + i)
        for i in range(5)
    ]
    with serving(app) as url:
        sender = Sender(url, "safe")
        assert [sender.reply(m) for m in messages] == ["success"] * 5
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        **{name: str(value) for name, value in config.items()},
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "worker", *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with app.app_context():
        numbers = dict(db.session.execute(select(Incident.citizen_id, Incident.number)).all())
        db.session.rollback()
    assert len(numbers) == 5
    texts = [c.body["text"]["content"] for c in fake.sent("/cgi-bin/message/custom/send")]
    assert len(texts) == 5 and all(any(n in t for t in texts) for n in numbers.values())
