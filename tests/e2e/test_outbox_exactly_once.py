"""An outbox message completes once: two real worker processes on PostgreSQL consuming every message twice, and
a worker that dies between a handler's commit and the message's `done_at`, give exactly one effect (audit entry,
delivery mark) and one WeChat send per message."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from casework import audit, chat, citizens, complaints, incidents, outbox, subscriptions
from casework.db import db
from casework.models import AuditEntry, ChatMessage, Officer, OutboxMessage
from casework.status import Channel, IncidentStatus
from server.jobs import QUEUES
from tests.wechat_side import wechat_config

pytestmark = pytest.mark.needs_postgresql
ROOT = Path(__file__).resolve().parents[2]
CUSTOM = "/cgi-bin/message/custom/send"
CITIZENS = 4


class Crash(BaseException):
    """The worker process dies here: nothing after this point runs (not even `except Exception` blocks)."""


def execute_and_die_after_the_handlers_first_commit(message_id: int) -> None:
    """Run one message in this process and die at the first commit made once its handler has started."""
    message = db.session.get(OutboxMessage, message_id)
    jobs = subscriptions.of().jobs
    entry = jobs[message.job]
    db.session.rollback()
    original, started = entry.func, []

    def handler(**payload):
        started.append(True)
        return original(**payload)

    def die(session: Session) -> None:
        if started:
            raise Crash(message_id)

    jobs[entry.name] = dataclasses.replace(entry, func=handler)
    event.listen(Session, "after_commit", die)
    try:
        with pytest.raises(Crash):
            outbox.execute(message_id)
    finally:
        event.remove(Session, "after_commit", die)
        jobs[entry.name] = entry
        db.session.remove()


def worker_env(app, redis_url: str, fake) -> dict:
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
    }
    env.update({key: str(value) for key, value in wechat_config(fake).items()})
    return env


def make_work(app, officer_id: int) -> dict[str, list[int]]:
    """Reports, officer chat messages, progress and complaints for a few citizens; the ids of what they made."""
    made = {"chat": [], "complaint": [], "incident": []}
    with app.app_context():
        officer = db.session.get(Officer, officer_id)
        for n in range(CITIZENS):
            citizen = citizens.identify(oa_openid=f"o-once-{n}")
            incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description=f"第{n}起:有人打架")
            made["chat"].append(chat.add_message(incident=incident, actor=officer, body=f"民警问题 {n}").id)
            incidents.change_status(
                incident=incident, actor=officer, status=IncidentStatus.DISPATCHED, public_note=f"已派民警 {n}"
            )
            made["complaint"].append(complaints.file(citizen=citizen, incident=incident, body=f"投诉 {n}").id)
            made["incident"].append(incident.id)
        db.session.remove()
    return made


def test_two_workers_each_message_twice_and_a_crash_after_the_handlers_commit(
    postgresql_only, world, command_centre, make_app, fake, redis, redis_url
):
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url))
    officer_id = command_centre.id
    db.session.remove()
    made = make_work(app, officer_id)
    with app.app_context():
        messages = db.session.execute(select(OutboxMessage.id, OutboxMessage.job).order_by(OutboxMessage.id)).all()
        db.session.remove()
        jobs = {job for _, job in messages}
        assert {
            "bot.push_chat_message",
            "bot.push_progress",
            "complaint.route_to_unit",
            "complaint.route_to_supervision",
            "incident.route",
        } <= jobs

        # One message of each job dies right after its handler's commit, before `done_at` is written.
        crashed = {}
        for message_id, job in messages:
            if job not in crashed:
                crashed[job] = message_id
                execute_and_die_after_the_handlers_first_commit(message_id)
        # What the crashed handlers scheduled in turn (e.g. supervision's clock on complaint.routed) joins the run.
        messages = db.session.execute(select(OutboxMessage.id, OutboxMessage.job).order_by(OutboxMessage.id)).all()
        db.session.remove()

    # Every message once more, next to its first copy, so the two workers take both copies at the same moment.
    connection = redis
    for name in QUEUES:
        Queue(name, connection=connection).empty()
    app.extensions["wx110.dispatcher"].enqueue(
        [pair for message_id, job in messages for pair in [(message_id, subscriptions.of(app).jobs[job].queue)] * 2]
    )
    env = worker_env(app, redis_url, fake)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--burst", "--no-fork"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=240)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    failed = [
        job_id
        for name in QUEUES
        for job_id in FailedJobRegistry(queue=Queue(name, connection=connection)).get_job_ids()
    ]
    assert failed == [], outputs

    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.done_at.is_(None))) == 0
        # One WeChat send per push message: each officer message once, each progress note once.
        sent = [json.dumps(c.body, ensure_ascii=False) for c in fake.sent(CUSTOM) if c.body]
        for n in range(CITIZENS):
            assert sum(f"民警问题 {n}" in body for body in sent) == 1, sent
            assert sum(f"已派民警 {n}" in body for body in sent) == 1, sent
        assert len(sent) == 2 * CITIZENS
        # One effect per message: each delivery marked once, each complaint routed twice (unit, supervision) once.
        delivered = db.session.scalars(
            select(AuditEntry.subject_id).where(AuditEntry.action == "chat.message_delivered")
        ).all()
        assert sorted(delivered) == sorted(made["chat"])
        assert all(db.session.get(ChatMessage, i).delivered_at is not None for i in made["chat"])
        routed = db.session.execute(
            select(AuditEntry.action, AuditEntry.subject_id).where(
                AuditEntry.subject_type == "complaint", AuditEntry.action != "complaint.filed"
            )
        ).all()
        assert len(routed) == 2 * CITIZENS and len(set(routed)) == 2 * CITIZENS, routed
        assert {subject for _, subject in routed} == set(made["complaint"])
        incident_routes = db.session.scalars(
            select(AuditEntry.subject_id).where(AuditEntry.action == "incident.routed")
        ).all()
        assert sorted(incident_routes) == sorted(made["incident"])
        assert audit.verify()[1] is None
        db.session.remove()
