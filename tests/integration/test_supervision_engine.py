"""The supervision engine's parts against a real database: the calendar import (all or nothing, audited), a
deadline flagged when its year has no calendar and set once the year is loaded, an approved extension that moves
the deadline and re-arms its warnings, notices sent once by WeChat and SMS, a finding that is not really rectified
staying open, a point turned off, and the operator commands."""

import json
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from casework import audit, citizens, incidents, seed
from casework.clock import CHINA
from casework.db import db
from casework.errors import Forbidden, InvalidInput
from casework.models import AuditEntry, Category, Incident
from casework.status import Channel, IncidentStatus
from supervision import board, clocks, notify, points, sweep, warnings
from supervision.models import CalendarDay, DeadlineClock, Notification, Warning

S = IncidentStatus
TEMPLATE = "/cgi-bin/message/template/send"


def bj(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


def drain(app):
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()
    db.session.expire_all()


def accepted_incident(app, citizen, officer, at: datetime, code: str = "0102") -> Incident:
    category = db.session.scalar(select(Category).where(Category.code == code))
    incident = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="被骗了",
        doorplate=seed.doorplate("DH-0001"),
        category=category,
        now=at,
    )
    for minutes, status in ((1, S.DISPATCHED), (5, S.ON_SCENE), (30, S.HANDLED), (60, S.ACCEPTED)):
        incidents.change_status(incident=incident, actor=officer, status=status, now=at + timedelta(minutes=minutes))
    drain(app)
    return db.session.get(Incident, incident.id)


def filing_clock(incident: Incident) -> DeadlineClock:
    return db.session.scalar(
        select(DeadlineClock).where(DeadlineClock.subject_id == incident.id, DeadlineClock.kind == "FILING_OVERDUE")
    )


YEAR_2027 = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,workday,元旦调休\n" + "".join(
    f"2027-02-{d:02d},holiday,春节\n" for d in (5, 8, 9, 10, 11)
)


def test_a_deadline_in_a_year_without_its_notice_is_provisional_then_recounted_when_the_year_is_loaded(
    app, world, citizen, officer, tmp_path
):
    incident = accepted_incident(app, citizen, officer, bj(2026, 12, 30, 9))
    counted = filing_clock(incident)
    # Accepted Wed 30 Dec 2026 10:00, 3 working days on the statutory holidays: 31 Dec, (1 Jan off), 4, 5 Jan.
    assert counted.provisional and counted.due_at.astimezone(CHINA) == bj(2027, 1, 5, 10)
    assert counted.next_check_at is not None
    assert board.pending_calendar_years(now=bj(2026, 12, 30, 12)) == [2027]

    bad = tmp_path / "2027-bad.csv"
    bad.write_text(YEAR_2027 + "2027-02-13,holiday,周六\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(bad)])
    assert result.exit_code == 1 and "第9行" in result.output and "nothing was loaded" in result.output
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0

    good = tmp_path / "2027.csv"
    good.write_text(YEAR_2027, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "calendar 2027: 6 holiday(s), 1 make-up working day(s)" in result.output
    assert "1 deadline(s) moved" in result.output
    db.session.expire_all()
    moved = filing_clock(incident)
    assert f"{moved.subject_number} FILING_OVERDUE: 2027-01-05 10:00 -> 2027-01-04 10:00" in result.output
    # The notice makes Sat 2 Jan a working day: 31 Dec, 2 Jan, 4 Jan.
    assert not moved.provisional and moved.due_at.astimezone(CHINA) == bj(2027, 1, 4, 10) and moved.deadline_moves == 1
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.subject_id == moved.id))]
    assert "clock.recounted" in actions
    assert board.pending_calendar_years(now=bj(2026, 12, 30, 12)) == []
    assert sweep.sweep(now=bj(2027, 1, 4, 10)).raised == 1  # the red, at the recounted deadline


def test_a_warning_raised_against_a_provisional_deadline_moves_with_it(app, world, citizen, officer, tmp_path):
    incident = accepted_incident(app, citizen, officer, bj(2026, 12, 30, 9))
    assert sweep.sweep(now=bj(2027, 1, 5, 10)).raised == 1  # red at the provisional deadline, 5 Jan
    # A notice that gives 4 Jan off instead (a correction, for the test) moves the deadline to 6 Jan.
    notice = tmp_path / "2027.csv"
    notice.write_text("2027-01-01,holiday,元旦\n2027-01-04,holiday,元旦补休\n", encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["calendar", "import", str(notice)]).exit_code == 0
    db.session.expire_all()
    red = db.session.scalar(select(Warning).where(Warning.colour == "red"))
    assert red.resolution == "calendar_changed" and red.resolved_at is not None
    assert filing_clock(incident).due_at.astimezone(CHINA) == bj(2027, 1, 6, 10)
    assert sweep.sweep(now=bj(2027, 1, 5, 12)).raised == 1  # not due any more: a blue reminder of the new deadline
    assert db.session.scalar(select(Warning).order_by(Warning.id.desc())).colour == "blue"
    assert sweep.sweep(now=bj(2027, 1, 6, 10)).raised == 1
    reds = db.session.scalars(select(Warning).where(Warning.colour == "red").order_by(Warning.id)).all()
    assert [(w.occurrence, w.due_at.astimezone(CHINA)) for w in reds] == [
        (0, bj(2027, 1, 5, 10)),
        (1, bj(2027, 1, 6, 10)),
    ]


def test_an_approved_extension_moves_the_deadline_and_rearms_its_warnings(app, world, citizen, officer):
    legal = seed.officer("100004")
    incident = accepted_incident(app, citizen, officer, bj(2025, 11, 3, 9))  # Mon; due Thu 6 Nov 10:00
    target = filing_clock(incident)
    assert target.due_at.astimezone(CHINA) == bj(2025, 11, 6, 10)
    assert sweep.sweep(now=bj(2025, 11, 6, 10)).raised == 1
    with pytest.raises(Forbidden):  # an officer cannot extend their own deadline
        clocks.extend(clock_=target, days=4, approved_by=officer, reason="线索需核查", now=bj(2025, 11, 6, 11))
    db.session.rollback()
    extended = clocks.extend(clock_=target, days=4, approved_by=legal, reason="线索需核查", now=bj(2025, 11, 6, 11))
    # 3 + 4 = 7 working days from Mon 3 Nov 10:00: due Wed 12 Nov 10:00 (the weekend skipped).
    assert extended.due_at.astimezone(CHINA) == bj(2025, 11, 12, 10) and extended.extended_count == 1
    first_red = db.session.scalar(select(Warning).where(Warning.colour == "red"))
    assert first_red.resolution == "extended"
    result = sweep.sweep(now=bj(2025, 11, 12, 10))
    assert result.raised == 1  # the re-armed red (its blue was passed by then and is skipped for the red)
    reds = db.session.scalars(select(Warning).where(Warning.colour == "red").order_by(Warning.id)).all()
    assert [(w.occurrence, w.resolution) for w in reds] == [(0, "extended"), (1, None)]
    with pytest.raises(InvalidInput):
        clocks.extend(clock_=reds[1].clock, days=0, approved_by=legal, reason="x", now=bj(2025, 11, 12, 11))
    assert [a.action for a in audit.trail(extended)].count("clock.extended") == 1


@pytest.fixture
def pushing_app(make_app, fake_wechat):
    app = make_app(
        WECHAT_API_BASE=fake_wechat.base_url,
        WECHAT_APPID=f"wx-{uuid.uuid4().hex[:8]}",
        WECHAT_SECRET="s",
        SUPERVISION_WARNING_TEMPLATE_ID="tmpl-warning",
    )
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        yield app
        db.session.remove()


def test_each_notice_is_sent_once_by_wechat_and_sms(pushing_app, fake_wechat):
    app = pushing_app
    officer = seed.officer("100002")
    officer.wechat_openid, officer.phone = "oa-officer-100002", "13800000002"
    db.session.commit()
    citizen = citizens.identify(oa_openid="openid-notice")
    incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="有人闹事",
        doorplate=seed.doorplate("DH-0001"),
        now=bj(2025, 11, 3, 9),
    )
    drain(app)
    incident = db.session.scalar(select(Incident))
    incident.assigned_officer_id = officer.id
    db.session.commit()
    sweep.sweep(now=bj(2025, 11, 3, 9, 11))  # yellow: not dispatched in 10 minutes
    drain(app)
    sweep.sweep(now=bj(2025, 11, 3, 9, 11))
    drain(app)
    sent = [c for c in fake_wechat.sent(TEMPLATE) if c.body["touser"] == "oa-officer-100002"]
    assert len(sent) == 1 and sent[0].body["template_id"] == "tmpl-warning"
    assert sent[0].body["data"]["point"]["value"] == "警情超时未派警"
    texts = [t for phone, t in app.extensions["wx110.sms"].sent if phone == "13800000002"]
    assert len(texts) == 1 and "黄色预警" in texts[0] and incident.number in texts[0]
    notices = db.session.scalars(select(Notification).where(Notification.officer_id == officer.id)).all()
    assert sorted(n.channel for n in notices) == ["console", "sms", "wechat"]
    assert all(n.sent_at is not None for n in notices if n.channel != "console")
    notify.deliver(next(n.id for n in notices if n.channel == "wechat"))  # delivered again: sent already
    assert len([c for c in fake_wechat.sent(TEMPLATE) if c.body["touser"] == "oa-officer-100002"]) == 1
    assert notify.unread_count(officer) == 1
    notify.mark_read(officer)
    assert notify.unread_count(officer) == 0


def test_a_finding_stays_open_until_the_problem_is_really_gone(app, world, citizen, officer):
    incident = accepted_incident(app, citizen, officer, bj(2025, 11, 3, 9), code="0102")
    other = db.session.scalar(select(Category).where(Category.code != "0102", Category.parent_id.is_not(None)))
    incidents.recategorise(incident=incident, actor=officer, category=other, reason="改", now=bj(2025, 11, 3, 11))
    drain(app)
    sweep.sweep(now=bj(2025, 11, 3, 11, 1))
    finding = db.session.scalar(select(Warning).where(Warning.colour == "yellow"))
    assert finding.point.code == "RECLASSIFIED_AFTER_HANDLED"
    with pytest.raises(InvalidInput):
        warnings.rectify(
            warning=db.session.get(Warning, finding.id), officer=officer, text=" ", now=bj(2025, 11, 3, 12)
        )
    db.session.rollback()
    warnings.rectify(warning=finding, officer=officer, text="已说明", now=bj(2025, 11, 3, 12))
    # ...but the category is changed again before the next sweep: the problem is back, the warning stays.
    back = db.session.scalar(select(Category).where(Category.code == "0102"))
    incidents.recategorise(
        incident=db.session.get(Incident, incident.id),
        actor=officer,
        category=back,
        reason="再改",
        now=bj(2025, 11, 3, 12, 5),
    )
    drain(app)
    sweep.sweep(now=bj(2025, 11, 3, 12, 10))
    assert db.session.get(Warning, finding.id).resolved_at is None
    warnings.rectify(
        warning=db.session.get(Warning, finding.id), officer=officer, text="已恢复并说明", now=bj(2025, 11, 3, 13)
    )
    sweep.sweep(now=bj(2025, 11, 3, 13, 1))
    assert db.session.get(Warning, finding.id).resolution == "rectified"


def test_a_point_turned_off_raises_nothing_and_parameters_are_checked(app, world, citizen, officer):
    admin = seed.officer("100000")
    with pytest.raises(InvalidInput):
        points.update(actor=admin, code="INCIDENT_UNASSIGNED", parameters={"minutes": "soon"})
    db.session.rollback()
    points.update(actor=admin, code="INCIDENT_UNASSIGNED", enabled=False, now=bj(2025, 11, 3, 8))
    incidents.report(citizen=citizen, channel=Channel.WECHAT, description="x", now=bj(2025, 11, 3, 9))
    drain(app)
    assert sweep.sweep(now=bj(2025, 11, 3, 12)).raised == 0
    points.update(actor=admin, code="INCIDENT_UNASSIGNED", enabled=True, now=bj(2025, 11, 3, 12, 30))
    assert sweep.sweep(now=bj(2025, 11, 3, 12, 31)).raised == 2  # turned back on: its clocks are looked at again
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "monitoring_point.changed"))


def test_the_sweep_and_warnings_commands(app, world, citizen, officer):
    incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="x",
        doorplate=seed.doorplate("XH-0001"),
        now=bj(2025, 11, 3, 9),
    )
    drain(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["supervision", "sweep", "--now", "2025-11-03T09:40:00+08:00"])
    assert result.exit_code == 0 and "raised 2" in result.output, result.output
    again = runner.invoke(args=["supervision", "sweep", "--now", "2025-11-03T09:40:00+08:00"])
    assert "raised 0" in again.output
    listed = json.loads(runner.invoke(args=["supervision", "warnings", "--json", "--colour", "red"]).output)
    assert [(w["colour"], w["point"], w["subject_type"], w["unit"]) for w in listed] == [
        ("red", "INCIDENT_UNASSIGNED", "incident", "33010202")
    ]
    assert listed[0]["due_at"] == "2025-11-03T01:30:00+00:00" and listed[0]["resolved_at"] is None
    assert json.loads(runner.invoke(args=["supervision", "warnings", "--json", "--unit", "33010201"]).output) == []
    assert db.session.scalar(select(func.count()).select_from(Warning)) == 2


def test_the_complaint_workflow_drives_its_clocks_through_a_second_review_to_the_close(
    app, world, citizen, officer, supervisor
):
    """The explanation clock starts when supervision asks (not at filing) and stops when the unit explains; an
    unsatisfied rating runs the answer clock again from the reopening; closing stops whatever still runs."""
    from casework import complaints
    from casework.complaint_status import ComplaintStatus
    from tests.complaint_steps import walk

    def running(kind):
        return db.session.scalars(
            select(DeadlineClock).where(
                DeadlineClock.subject_type == "complaint",
                DeadlineClock.kind == kind,
                DeadlineClock.stopped_at.is_(None),
            )
        ).all()

    def settle():
        db.session.commit()
        app.extensions["wx110.dispatcher"].drain()
        db.session.expire_all()

    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)
    incident = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="投诉对象", doorplate=world.doorplate("DH-0001"), now=t0
    )
    complaint = complaints.file(citizen=citizen, incident=incident, body="出警太慢", now=t0)
    settle()
    walk(complaint.id, ComplaintStatus.ACCEPTED, supervisor=supervisor, explainer=officer, now=t0)
    settle()
    assert running(points.EXPLANATION_OVERDUE) == [] and len(running(points.COMPLAINT_UNANSWERED)) == 1
    walk(complaint.id, ComplaintStatus.INVESTIGATING, supervisor=supervisor, explainer=officer, now=t0)
    settle()
    [explanation] = running(points.EXPLANATION_OVERDUE)
    assert explanation.started_at == t0
    walk(complaint.id, ComplaintStatus.ANSWERED, supervisor=supervisor, explainer=officer, now=t0)
    settle()
    assert running(points.EXPLANATION_OVERDUE) == [] and running(points.COMPLAINT_UNANSWERED) == []
    reopened_at = t0 + timedelta(days=1)
    complaints.rate_answer(
        citizen=citizen, complaint=db.session.get(complaints.Complaint, complaint.id), rating=1, now=reopened_at
    )
    settle()
    [again] = running(points.COMPLAINT_UNANSWERED)
    assert again.started_at == reopened_at
    walk(complaint.id, ComplaintStatus.ANSWERED, supervisor=supervisor, explainer=officer, now=reopened_at)
    settle()
    complaints.rate_answer(
        citizen=citizen, complaint=db.session.get(complaints.Complaint, complaint.id), rating=2, now=reopened_at
    )
    settle()
    assert db.session.get(complaints.Complaint, complaint.id).state is ComplaintStatus.CLOSED
    assert running(points.COMPLAINT_UNANSWERED) == [] and running(points.EXPLANATION_OVERDUE) == []


def test_a_rectification_date_counted_through_a_provisional_year_is_marked_and_moved_by_the_notice(
    app, world, citizen, officer, tmp_path
):
    incident = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="楼下有人吵架",
        doorplate=seed.doorplate("DH-0001"),
        now=bj(2026, 12, 30, 9),
    )
    for minutes, status in ((1, S.DISPATCHED), (5, S.ON_SCENE), (30, S.HANDLED)):
        incidents.change_status(incident=incident, actor=officer, status=status, now=bj(2026, 12, 30, 9, minutes))
    fraud = db.session.scalar(select(Category).where(Category.code == "0102"))
    incidents.recategorise(
        incident=incident, actor=officer, category=fraud, reason="核实后调整", now=bj(2026, 12, 30, 10)
    )
    drain(app)
    sweep.sweep(now=bj(2026, 12, 30, 10, 1))
    yellow = db.session.scalar(select(Warning).where(Warning.colour == "yellow", Warning.incident_id == incident.id))
    # A finding's rectification: 3 working days from Wed 30 Dec 10:00 on the statutory holidays: 31 Dec, 4, 5 Jan.
    assert yellow.rectify_due_at.astimezone(CHINA) == bj(2027, 1, 5, 10) and yellow.clock.provisional

    notice = tmp_path / "2027.csv"
    notice.write_text(YEAR_2027, encoding="utf-8")  # Sat 2 Jan worked
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(notice)])
    assert "RECLASSIFIED_AFTER_HANDLED rectification: 2027-01-05 10:00 -> 2027-01-04 10:00" in result.output
    db.session.expire_all()
    yellow = db.session.get(Warning, yellow.id)
    assert yellow.rectify_due_at.astimezone(CHINA) == bj(2027, 1, 4, 10) and yellow.resolved_at is None
    assert yellow.clock.rectify_due_at == yellow.rectify_due_at and not yellow.clock.provisional
    sweep.sweep(now=bj(2027, 1, 4, 10))
    assert db.session.scalar(select(Warning).where(Warning.colour == "red", Warning.clock_id == yellow.clock_id))
