"""Time is an argument: periodic jobs run for the moment they are handed, without touching a global clock."""

from datetime import UTC, datetime, timedelta

from rq import Queue, SimpleWorker
from sqlalchemy import select

from casework import citizens, clock, events, incidents, subscriptions
from casework.db import db
from casework.models import OutboxMessage
from casework.status import Channel
from miniapp_api import sessions
from miniapp_api.models import MiniappSession
from server import worker

WEEK = timedelta(days=7)


def assert_clock_untouched() -> None:
    assert clock._frozen is None, "clock.freeze was not used"
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


class Recording:
    """A dispatcher that keeps what it is handed (the after-commit push is lost, as in a crash)."""

    def __init__(self):
        self.enqueued: list[int] = []

    def dispatch(self, messages):
        pass

    def enqueue(self, messages):
        self.enqueued.extend(message_id for message_id, _ in messages)
        return [message_id for message_id, _ in messages]


def test_session_sweep_a_week_ahead_behaves_as_a_week_later(app):
    sweep = subscriptions.of(app).sweeps["miniapp.sweep_sessions"]
    with app.app_context():
        token, _ = sessions.open_session(openid="mini-week", unionid=None, ttl_seconds=3600)
        assert sweep.func(now=clock.now()) == 0
        assert sessions.citizen_for(token) is not None
        assert sessions.citizen_for(token, now=clock.now() + WEEK) is None  # as seen a week later
        assert sweep.func(now=clock.now() + WEEK) == 1
        assert db.session.scalars(select(MiniappSession)).all() == []
    assert_clock_untouched()


def test_the_worker_hands_a_sweep_the_moment_it_runs_for(app):
    worker.use_app(app)
    with app.app_context():
        sessions.open_session(openid="mini-worker", unionid=None, ttl_seconds=3600)
        db.session.remove()
    worker.run_periodic("miniapp.sweep_sessions")  # now: nothing has expired
    with app.app_context():
        assert len(db.session.scalars(select(MiniappSession)).all()) == 1
        db.session.remove()
    worker.run_periodic("miniapp.sweep_sessions", (clock.now() + WEEK).isoformat())
    with app.app_context():
        assert db.session.scalars(select(MiniappSession)).all() == []
    assert_clock_untouched()


def test_a_sweep_run_by_an_rq_worker_is_for_the_moment_it_was_enqueued(make_app, redis, redis_url):
    app = make_app(REDIS_URL=redis_url)
    worker.use_app(app)
    moments = []
    events.periodic(app, "test.record_moment", lambda now: moments.append(now), every=60)
    job = Queue("default", connection=redis).enqueue("server.worker.run_periodic", "test.record_moment")
    SimpleWorker([Queue("default", connection=redis)], connection=redis).work(burst=True)
    assert job.get_status(refresh=True) == "finished"
    assert len(moments) == 1 and moments[0].tzinfo is not None
    assert abs(moments[0] - job.enqueued_at.replace(tzinfo=UTC)) < timedelta(seconds=1)
    assert_clock_untouched()


def test_outbox_relay_a_week_ahead_resends_what_was_dispatched_and_never_done(app):
    relay = subscriptions.of(app).sweeps["outbox.relay"]
    recording = app.extensions["wx110.dispatcher"] = Recording()
    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-relay-week")
        incidents.report(citizen=citizen, channel=Channel.WECHAT, description="门口有可疑人员")
        undone = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.done_at.is_(None))).all()
        assert undone and all(db.session.get(OutboxMessage, i).dispatched_at is not None for i in undone)
        relay.func(now=clock.now())
        assert recording.enqueued == [], "dispatched a moment ago: not stale yet"
        relay.func(now=clock.now() + WEEK)
        assert recording.enqueued == undone, "a week later every undone message is stale and sent again"
        week_later = db.session.get(OutboxMessage, undone[0]).dispatched_at
        assert week_later > datetime.now(UTC) + WEEK - timedelta(minutes=1)
    assert_clock_untouched()


def test_flask_outbox_relay_takes_now(app):
    recording = app.extensions["wx110.dispatcher"] = Recording()
    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-relay-cli")
        incidents.report(citizen=citizen, channel=Channel.WECHAT, description="路口有人打架")
        db.session.remove()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["outbox", "relay", "--now", "2000-01-01T00:00:00"]).exit_code == 0
    assert recording.enqueued == []  # in 2000 nothing of today existed yet
    result = runner.invoke(args=["outbox", "relay", "--now", (clock.now() + WEEK).isoformat()])
    assert result.exit_code == 0, result.output
    jobs = len(subscriptions.of(app).subscribers("incident.reported"))  # routing, the supervision clock
    assert f"relayed {jobs} message(s)" in result.output and len(recording.enqueued) == jobs == 2
    bad = runner.invoke(args=["outbox", "relay", "--now", "next tuesday"])
    assert bad.exit_code != 0 and "ISO 8601" in bad.output
    assert_clock_untouched()
