"""A complaint filed while Redis is down is committed, and its jobs run exactly once when Redis is back."""

from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from casework import citizens, complaint_inbox, complaints, incidents, seed
from casework.db import db
from casework.models import AuditEntry, Complaint, OutboxMessage
from casework.status import Channel
from server import jobs, worker
from supervision import complaints as supervision
from tests.fail_fast import assert_fails_fast

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


def file_complaint(app, citizen_openid="openid-complainer"):
    with app.app_context():
        citizen = citizens.identify(oa_openid=citizen_openid)
        incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="有人偷车")
        complaint = complaints.file(citizen=citizen, incident=incident, body="民警一直没来")
        complaint_id = complaint.id
        db.session.remove()
    return complaint_id


def run_worker(redis):
    """Run queued jobs to completion in this thread, as a worker process would."""
    db.session.commit()  # release our own transaction first (on SQLite it holds the write lock)
    SimpleWorker([Queue(n, connection=redis) for n in jobs.QUEUES], connection=redis).work(burst=True)
    db.session.expire_all()


def routed_actions(complaint_id):
    return db.session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.subject_type == "complaint",
            AuditEntry.subject_id == complaint_id,
            AuditEntry.action.like("complaint.routed%"),
        )
    ).all()


def test_complaint_survives_redis_outage_and_is_routed_exactly_once(make_app, redis, redis_url):
    down = make_app(REDIS_URL=DEAD_REDIS)
    assert_fails_fast(down)  # a dead Redis must not stall the request path (timed in benchmarks/dead_redis.py)
    complaint_id = file_complaint(down)

    with down.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        assert complaint is not None and complaint.status == "filed"
        pending = db.session.scalars(select(OutboxMessage).where(OutboxMessage.dispatched_at.is_(None))).all()
        assert {m.job for m in pending} >= {"complaint.route_to_unit", "complaint.route_to_supervision"}

    up = make_app(REDIS_URL=redis_url)
    with up.app_context():
        first = jobs.relay_pending(grace_seconds=0)
        second = jobs.relay_pending(grace_seconds=0)
        assert first >= 2 and second == 0
        queued = sum(Queue(name, connection=redis).count for name in jobs.QUEUES)
        assert queued == first

        worker.use_app(up)
        run_worker(redis)
        complaint = db.session.get(Complaint, complaint_id)
        assert complaint.status == "routed"
        assert complaint.routed_to_unit_at is not None and complaint.routed_to_supervision_at is not None
        assert sorted(routed_actions(complaint_id)) == ["complaint.routed_to_supervision", "complaint.routed_to_unit"]
        assert (
            db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None)))
            == 0
        )


def test_a_complaint_filed_while_redis_is_down_reaches_the_unit_and_supervision_once_it_is_back(
    make_app, redis, redis_url
):
    down = make_app(REDIS_URL=DEAD_REDIS)
    with down.app_context():
        seed.load_world()
        citizen = citizens.identify(oa_openid="openid-outage")
        incident = incidents.report(  # at a doorplate of 东湖派出所: the station holds it
            citizen=citizen, channel=Channel.WECHAT, description="有人偷车", doorplate=seed.doorplate("DH-0001")
        )
        complaint_id = complaints.file(citizen=citizen, incident=incident, body="民警一直没来").id
        station, supervisor = seed.officer("100002"), seed.officer("100005")
        assert complaint_inbox.inbox(station) == [] and supervision.queue(supervisor) == []  # not routed yet
        db.session.remove()

    up = make_app(REDIS_URL=redis_url)
    with up.app_context():
        assert jobs.relay_pending(grace_seconds=0) >= 2
        worker.use_app(up)
        run_worker(redis)
        station, supervisor = seed.officer("100002"), seed.officer("100005")
        assert [c.id for c in complaint_inbox.inbox(station)] == [complaint_id]
        [queued] = supervision.queue(supervisor)
        assert queued.id == complaint_id and queued.state.value == "routed" and queued.step_due_at is not None
        assert sorted(routed_actions(complaint_id)) == ["complaint.routed_to_supervision", "complaint.routed_to_unit"]
        assert jobs.relay_pending(grace_seconds=0) == 0  # nothing left to send: each place got it once
        supervision.accept(complaint=queued, officer=supervisor)  # and the workflow goes on from there
        assert db.session.get(Complaint, complaint_id).state.value == "accepted"


def test_duplicate_delivery_of_a_job_has_one_effect(make_app, redis, redis_url):
    up = make_app(REDIS_URL=redis_url)
    with up.app_context():
        worker.use_app(up)
        complaint_id = file_complaint(up)
        ids = db.session.scalars(select(OutboxMessage.id)).all()
        dispatcher = up.extensions["wx110.dispatcher"]
        dispatcher.enqueue([(i, "default") for i in ids])  # the after-commit push already queued them once
        run_worker(redis)
        assert sorted(routed_actions(complaint_id)) == ["complaint.routed_to_supervision", "complaint.routed_to_unit"]


def test_stale_dispatch_is_sent_again_after_redis_lost_its_queue(make_app, redis, redis_url):
    up = make_app(REDIS_URL=redis_url, OUTBOX_STALE_SECONDS=0)
    complaint_id = file_complaint(up)
    redis.flushdb()  # Redis restarted without persistence: the queued jobs are gone
    with up.app_context():
        assert jobs.relay_pending(grace_seconds=0) >= 2
        worker.use_app(up)
        run_worker(redis)
        assert db.session.get(Complaint, complaint_id).status == "routed"


def test_in_process_mode_runs_jobs_without_redis(app):
    complaint_id = file_complaint(app)
    app.extensions["wx110.dispatcher"].drain()
    with app.app_context():
        assert db.session.get(Complaint, complaint_id).status == "routed"
        assert len(routed_actions(complaint_id)) == 2
