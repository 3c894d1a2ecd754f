"""In-process mode: periodic sweeps run on a timer and pick up messages the dispatcher never got."""

import time

from sqlalchemy import select

from casework import citizens, complaints, incidents, subscriptions
from casework.db import db
from casework.models import Complaint, OutboxMessage
from casework.status import Channel
from server import jobs


def test_timer_relays_messages_left_pending(app):
    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-timer")
        incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="门口有可疑人员")
        app.extensions["wx110.dispatcher"].drain()
        # Simulate a process that crashed between commit and dispatch: rows committed, never handed over.
        app.extensions["wx110.dispatcher"] = _Forgetful(app.extensions["wx110.dispatcher"])
        complaint_id = complaints.file(citizen=citizen, incident=incident, body="处置不公").id
        undone = db.session.scalars(select(OutboxMessage).where(OutboxMessage.done_at.is_(None))).all()
        assert len(undone) == len(subscriptions.of(app).subscribers("complaint.filed")) == 3
        db.session.remove()

    app.config.update(OUTBOX_RELAY_GRACE_SECONDS=0, OUTBOX_STALE_SECONDS=0)  # the crash was long ago
    timer = jobs.Timer(app, tick=0.05)
    timer.last_run["outbox.relay"] = float("-inf")
    try:
        timer.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with app.app_context():
                if db.session.get(Complaint, complaint_id).status == "routed":
                    break
                db.session.remove()
            time.sleep(0.1)
    finally:
        timer.stop.set()
        app.extensions["wx110.dispatcher"].inner.drain()
    with app.app_context():
        assert db.session.get(Complaint, complaint_id).status == "routed"


class _Forgetful:
    """A dispatcher that drops after-commit pushes but relays like the real one."""

    def __init__(self, inner):
        self.inner = inner

    def dispatch(self, messages):
        pass

    def enqueue(self, messages):
        return self.inner.enqueue(messages)

    def drain(self):
        self.inner.drain()


def test_relay_interval_is_the_configured_one(make_app, redis_url):
    from casework import subscriptions

    assert subscriptions.of(make_app(OUTBOX_RELAY_SECONDS=3, REDIS_URL=redis_url)).sweeps["outbox.relay"].interval == 3


def test_in_process_mode_relays_every_few_seconds(make_app):
    """Rows another process wrote are found by the web process's relay within seconds, not minutes."""
    from casework import subscriptions

    app = make_app()
    assert subscriptions.of(app).sweeps["outbox.relay"].interval == app.config["OUTBOX_RELAY_EMBEDDED_SECONDS"] <= 5
    assert jobs.Timer(app).tick <= 1
