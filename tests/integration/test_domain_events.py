"""Typed domain events: one catalogue, explicit per-app subscriptions, every subscriber run once per event."""

import json
import threading

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from casework import citizens, complaints, events, evidence, incidents, seed, subscriptions
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.events import PAYLOAD, Event, UnknownEvent
from casework.models import AttachmentKind, Category, OutboxMessage
from casework.status import Channel, IncidentStatus
from casework.subscriptions import DuplicateRegistration
from casework.unit_of_work import transaction
from server import jobs, worker
from tests.complaint_steps import walk

NO_SUCH_ID = 987654321  # the real subscribers load fresh state and find nothing to do for it


class Recorder:
    """One subscriber per event that notes each call (jobs run on the inline thread or in a worker)."""

    def __init__(self, app):
        self.calls: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        for event in Event:
            events.subscribe(app, event, self._for(event), job=f"test.record.{event.value}")

    def _for(self, event: Event):
        def record(**payload):
            with self.lock:
                self.calls.append((event.value, payload))

        return record

    def of(self, event: Event) -> list[dict]:
        return [payload for name, payload in self.calls if name == event.value]


def payload_for(event: Event) -> dict:
    return {name: ("unit" if name == "destination" else NO_SUCH_ID) for name in PAYLOAD[event]}


@pytest.mark.parametrize("queue", ["inline", "rq"])
def test_every_event_in_the_catalogue_runs_each_subscriber_exactly_once(make_app, queue, request):
    if queue == "rq":
        redis_url = request.getfixturevalue("redis_url")
        redis = request.getfixturevalue("redis")
        app = make_app(REDIS_URL=redis_url)
    else:
        app = make_app()
    recorder = Recorder(app)
    registry = subscriptions.of(app)
    with app.app_context():
        with transaction():
            scheduled = {event: events.publish(event, **payload_for(event)) for event in Event}
        for event in Event:
            assert len(scheduled[event]) == len(registry.subscribers(event.value)) >= 1
        if queue == "rq":
            worker.use_app(app)
            SimpleWorker([Queue(n, connection=redis) for n in jobs.QUEUES], connection=redis).work(burst=True)
        else:
            app.extensions["wx110.dispatcher"].drain()
        db.session.expire_all()
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        # One row per (event, subscriber), each run to completion exactly once.
        expected = sorted(
            (job.name, json.dumps(payload_for(event), sort_keys=True))
            for event in Event
            for job in registry.subscribers(event.value)
        )
        assert sorted((row.job, row.payload) for row in rows) == expected
        assert all(row.done_at is not None and row.attempts == 1 and row.last_error is None for row in rows)
        for event in Event:
            assert recorder.of(event) == [payload_for(event)], event
        assert jobs.relay_pending(grace_seconds=0) == 0  # nothing is left to send again


def test_a_misspelt_event_or_a_wrong_payload_fails_and_schedules_nothing(ctx):
    with pytest.raises(UnknownEvent):
        events.publish("incident.reportd", incident_id=1)
    with pytest.raises(TypeError):
        events.publish(Event.INCIDENT_STATUS_CHANGED, incident_id=1)  # timeline_entry_id is missing
    with pytest.raises(UnknownEvent):
        events.subscribe(ctx, "complaint.filled", lambda **_: None, job="test.misspelt")
    assert "test.misspelt" not in subscriptions.of(ctx).jobs
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_registering_a_job_or_a_sweep_twice_fails_at_start_up(make_app):
    app = make_app()
    with pytest.raises(DuplicateRegistration):
        events.subscribe(app, Event.INCIDENT_REPORTED, lambda incident_id: None, job="incident.route")
    with pytest.raises(DuplicateRegistration):
        events.job(app, "bot.handle_inbound", lambda key: None)
    with pytest.raises(DuplicateRegistration):
        events.periodic(app, "outbox.relay", lambda now: None, every=30)
    # Each app has its own registry: a second app registers the same names without trouble.
    other = make_app()
    assert set(subscriptions.of(other).jobs) == set(subscriptions.of(app).jobs)
    assert subscriptions.of(other) is not subscriptions.of(app)


def test_flask_events_lists_every_event_with_its_subscribers(app):
    result = app.test_cli_runner().invoke(args=["events", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    by_event = {e["event"]: [s["job"] for s in e["subscribers"]] for e in listing["events"]}
    assert list(by_event) == [e.value for e in Event]
    assert by_event["incident.reported"] == ["incident.route", "supervision.incident_reported"]
    assert by_event["complaint.filed"] == [
        "complaint.route_to_unit",
        "complaint.route_to_supervision",
        "supervision.complaint_filed",
    ]
    assert set(by_event["incident.status_changed"]) == {
        "bot.push_progress",
        "miniapp.notify_progress",
        "supervision.incident_status_changed",
    }
    assert set(by_event["evidence.added"]) == {"bot.fetch_media", "supervision.evidence_added"}
    assert by_event["notification.due"] == ["supervision.deliver_notice"]
    assert by_event["complaint.reopened"] == ["supervision.complaint_reopened"]
    assert by_event["complaint.explanation_requested"] == ["supervision.complaint_explanation_requested"]
    assert {s["name"] for s in listing["periodic"]} == {
        "outbox.relay",
        "miniapp.sweep_sessions",
        "miniapp.sweep_uploads",
        "bot.sweep_nonces",
        "audit.checkpoint",
        "complaints.close_unrated",
        "supervision.sweep",
    }
    text = app.test_cli_runner().invoke(args=["events"])
    assert text.exit_code == 0 and "complaint.filed" in text.output and "-> complaint.route_to_unit" in text.output


@pytest.mark.expect_job_failures  # the first fetch of both media fails on purpose (WeChat busy)
def test_every_state_change_publishes_its_event(make_app, fake):
    app = make_app(WECHAT_API_BASE=fake.base_url, WECHAT_APPID="wx-events", WECHAT_SECRET="s")
    recorder = Recorder(app)
    fake.fail_next += [("/cgi-bin/media/get", -1)] * 2  # both first fetches fail, and may be tried again
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        citizen = citizens.identify(oa_openid="openid-events")
        dispatcher, supervisor = seed.officer("100001"), seed.officer("100005")
        incident = incidents.report(
            citizen=citizen, channel=Channel.WECHAT, description="门口有人吵架", latitude=30.27, longitude=120.15
        )
        pending = incidents.attach_evidence(
            incident=incident,
            actor=citizen,
            kind=AttachmentKind.IMAGE,
            source_ref="wechat:ev-1",
            wechat_media_id="MEDIA-1",
        )
        failing = incidents.attach_evidence(
            incident=incident,
            actor=citizen,
            kind=AttachmentKind.VIDEO,
            source_ref="wechat:ev-2",
            wechat_media_id="MEDIA-2",
        )
        app.extensions["wx110.dispatcher"].drain()
        evidence.mark_stored(attachment_id=pending.id, storage_key="ab/cd.jpg", sha256="0" * 64, size=10)
        evidence.record_fetch_failure(attachment_id=failing.id, error="timeout", give_up_after=1)
        incidents.set_location(incident=incident, actor=citizen, address="西湖区文三路1号")
        category = db.session.scalars(
            select(Category).where(Category.active.is_(True), Category.parent_id.is_not(None))
        ).first()  # a category, not a type heading
        incidents.recategorise(incident=incident, actor=dispatcher, category=category, reason="核实后调整")
        for status in (
            IncidentStatus.DISPATCHED,
            IncidentStatus.ON_SCENE,
            IncidentStatus.HANDLED,
            IncidentStatus.CLOSED,
        ):
            incidents.change_status(incident=incident, actor=dispatcher, status=status)
        incidents.rate(incident=incident, citizen=citizen, rating=5)
        complaint = complaints.file(citizen=citizen, incident=incident, body="处理太慢")
        app.extensions["wx110.dispatcher"].drain()
        explainer = seed.officer("100007")  # the incident is the command centre's until routed elsewhere
        complaint = walk(complaint, ComplaintStatus.ANSWERED, supervisor=supervisor, explainer=explainer)
        complaints.rate_answer(complaint=complaint, citizen=citizen, rating=1)  # unsatisfied: the second review
        complaint = walk(complaint, ComplaintStatus.ANSWERED, supervisor=supervisor, explainer=explainer)
        complaints.rate_answer(complaint=complaint, citizen=citizen, rating=4)
        app.extensions["wx110.dispatcher"].drain()
        incident, pending, failing, complaint = incident.id, pending.id, failing.id, complaint.id
        supervisor_id = supervisor.id

    assert recorder.of(Event.INCIDENT_REPORTED) == [{"incident_id": incident}]
    assert recorder.of(Event.EVIDENCE_ADDED) == [{"attachment_id": pending}, {"attachment_id": failing}]
    assert recorder.of(Event.EVIDENCE_STORED) == [{"attachment_id": pending}]
    assert recorder.of(Event.EVIDENCE_FAILED) == [{"attachment_id": failing}]
    assert recorder.of(Event.INCIDENT_LOCATED) == [{"incident_id": incident}]
    assert [p["incident_id"] for p in recorder.of(Event.INCIDENT_RECATEGORISED)] == [incident]
    assert len(recorder.of(Event.INCIDENT_STATUS_CHANGED)) == 4
    assert recorder.of(Event.INCIDENT_RATED) == [{"incident_id": incident}]
    assigned = recorder.of(Event.INCIDENT_ASSIGNED)
    assert len(assigned) == 1 and assigned[0]["incident_id"] == incident
    assert recorder.of(Event.COMPLAINT_FILED) == [{"complaint_id": complaint}]
    assert sorted(p["destination"] for p in recorder.of(Event.COMPLAINT_ROUTED)) == ["supervision", "unit"]
    assert recorder.of(Event.COMPLAINT_ANSWERED) == [{"complaint_id": complaint}] * 2
    assert recorder.of(Event.COMPLAINT_RATED) == [{"complaint_id": complaint}] * 2
    assert recorder.of(Event.COMPLAINT_ACCEPTED) == [
        {"complaint_id": complaint, "officer_id": supervisor_id, "review": 1}
    ]  # the second review starts accepted (reopened)
    requested = recorder.of(Event.COMPLAINT_EXPLANATION_REQUESTED)
    assert len(requested) == 2 and all(p["complaint_id"] == complaint and p["due_at"] for p in requested)
    assert recorder.of(Event.COMPLAINT_EXPLAINED) == [{"complaint_id": complaint}] * 2
    assert (
        recorder.of(Event.COMPLAINT_VERDICT_GIVEN)
        == [{"complaint_id": complaint, "verdict": "partly_substantiated"}] * 2
    )
    assert recorder.of(Event.COMPLAINT_REOPENED) == [{"complaint_id": complaint, "review": 2}]
    assert recorder.of(Event.COMPLAINT_CLOSED) == [{"complaint_id": complaint, "review": 2}]
