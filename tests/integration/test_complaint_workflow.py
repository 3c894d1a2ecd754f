"""The complaint workflow through its services on a controlled clock: each step's own timestamp and deadline,
refusals of steps out of order, one second review only, and a complaint about an officer investigated by the
unit above the officer's, never by the officer's own unit."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from casework import complaint_inbox, complaints, incidents
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.errors import Conflict, Forbidden, IllegalTransition, NotFound
from casework.models import AuditEntry, Complaint, Doorplate, Officer, Role, Unit
from casework.status import Channel
from supervision import complaints as supervision
from supervision.calendar import add_days
from tests.complaint_steps import walk

MONDAY = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def report_at(citizen, code: str):
    plate = db.session.scalar(select(Doorplate).where(Doorplate.code == code))
    return incidents.report(citizen=citizen, channel=Channel.WECHAT, description="楼下有人打架", doorplate=plate)


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def posted(code: str, badge: str, *roles: Role) -> Officer:
    officer = Officer(badge_no=badge, name=f"测试{badge}", unit_id=unit(code).id, roles=[r.value for r in roles])
    db.session.add(officer)
    db.session.commit()
    return officer


def audit_count() -> int:
    """Entries in the chain once the jobs of the steps so far (supervision's clocks, audited) have run."""
    db.session.commit()
    current_app.extensions["wx110.dispatcher"].drain()
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def at(hours: float) -> datetime:
    return MONDAY + timedelta(hours=hours)


class _RoutedByHand:
    """A dispatcher that leaves after-commit jobs unrun (their rows stay marked dispatched), so the test routes the
    complaint itself, step by step, with no background job getting there first."""

    def dispatch(self, messages):
        pass

    def enqueue(self, messages):
        return []

    def drain(self):
        pass


@pytest.fixture
def routed_by_hand(app, monkeypatch):
    current = app.extensions["wx110.dispatcher"]
    current.drain()
    monkeypatch.setitem(app.extensions, "wx110.dispatcher", _RoutedByHand())


def test_each_step_stamps_its_time_and_sets_the_next_deadline_and_the_second_review_comes_once(
    world, citizen, supervisor, officer, routed_by_hand
):
    complaint = complaints.file(citizen=citizen, incident=report_at(citizen, "DH-0001"), body="出警太慢", now=at(0))
    assert complaint.state is ComplaintStatus.FILED and complaint.review == 1
    assert complaint.due_at == add_days(at(0), 7, working=True) == datetime(2026, 12, 16, 2, 0, tzinfo=UTC)
    assert complaint.step_due_at == add_days(at(0), 1, working=True)
    assert complaint.investigating_unit_id == unit("33010201").id  # no officer named: the handling unit's

    with pytest.raises(IllegalTransition):  # not routed yet: nobody can accept it
        supervision.accept(complaint=complaint, officer=supervisor, now=at(0.5))
    complaints.route_to_unit(complaint.id, now=at(0.1))
    assert db.session.get(Complaint, complaint.id).state is ComplaintStatus.FILED  # one place is not enough
    complaints.route_to_supervision(complaint.id, now=at(0.2))
    assert db.session.get(Complaint, complaint.id).state is ComplaintStatus.ROUTED

    c = supervision.accept(complaint=complaint, officer=supervisor, now=at(1))
    assert (c.state, c.accepted_at, c.accepted_by_id) == (ComplaintStatus.ACCEPTED, at(1), supervisor.id)
    assert c.step_due_at == add_days(at(1), 1, working=True)
    with pytest.raises(IllegalTransition):
        supervision.accept(complaint=c, officer=supervisor, now=at(1.5))
    with pytest.raises(Conflict, match="尚未要求"):  # the unit explains only once asked
        complaint_inbox.explain(complaint=c, officer=officer, explanation="先说明", now=at(1.5))
    with pytest.raises(IllegalTransition):
        supervision.answer(complaint=c, officer=supervisor, text="提前答复", now=at(1.5))

    c = supervision.request_explanation(complaint=c, officer=supervisor, request="请说明出警经过", now=at(2))
    assert c.state is ComplaintStatus.INVESTIGATING and c.explanation_requested_at == at(2)
    assert c.explanation_due_at == c.step_due_at == add_days(at(2), 3, working=True)
    assert [x.id for x in complaint_inbox.inbox(officer)] == [c.id]  # the station sees the request

    c = complaint_inbox.explain(complaint=c, officer=officer, explanation="当晚警力不足", now=at(30))
    assert (c.state, c.explained_at, c.step_due_at) == (
        ComplaintStatus.EXPLAINED,
        at(30),
        add_days(at(30), 3, working=True),
    )
    with pytest.raises(Exception, match="调查结论"):
        supervision.give_verdict(complaint=c, officer=supervisor, verdict="maybe", action="无", now=at(31))
    c = supervision.give_verdict(
        complaint=c, officer=supervisor, verdict="substantiated", action="对出警民警批评教育", now=at(31)
    )
    assert (c.state, c.verdict_at, c.verdict_label) == (ComplaintStatus.DECIDED, at(31), "投诉属实")
    assert c.step_due_at == c.due_at
    c = supervision.answer(complaint=c, officer=supervisor, text="经核查属实,已批评教育。", now=at(32))
    assert (c.state, c.answered_at, c.step_due_at) == (
        ComplaintStatus.ANSWERED,
        at(32),
        add_days(at(32), 7, working=True),
    )

    c = complaints.rate_answer(complaint=c, citizen=citizen, rating=2, now=at(40))  # unsatisfied: reopened
    assert (c.state, c.review, c.reopened_at, c.first_rating) == (ComplaintStatus.ACCEPTED, 2, at(40), 2)
    assert c.first_answer == "经核查属实,已批评教育。" and c.first_verdict == "substantiated"
    assert c.answer is None and c.rating is None and c.unit_explanation is None and c.verdict is None
    assert c.due_at == add_days(at(40), 7, working=True)

    c = walk(c, ComplaintStatus.ANSWERED, supervisor=supervisor, explainer=officer, answer="复查后答复", now=at(50))
    assert c.review == 2 and c.answer == "复查后答复"
    c = complaints.rate_answer(complaint=c, citizen=citizen, rating=1, now=at(60))  # unsatisfied again: closed
    assert (c.state, c.closed_at, c.step_due_at, c.rating) == (ComplaintStatus.CLOSED, at(60), None, 1)
    before = audit_count()
    with pytest.raises(Conflict):
        complaints.rate_answer(complaint=c, citizen=citizen, rating=5, now=at(61))
    with pytest.raises(IllegalTransition):
        supervision.accept(complaint=c, officer=supervisor, now=at(61))
    assert audit_count() == before
    trail = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_type == "complaint").order_by(AuditEntry.seq)
    ).all()
    assert trail.count("complaint.reopened") == 1 and trail[-1] == "complaint.closed"
    assert trail.count("complaint.accepted") == 1 and trail.count("complaint.explanation_requested") == 2


def test_a_complaint_about_an_officer_is_investigated_above_the_officer_s_unit_which_only_explains(
    world, citizen, supervisor
):
    accused = world.officer("100002")  # 林晓, 东湖派出所
    complaint = complaints.file(
        citizen=citizen,
        incident=report_at(citizen, "DH-0001"),
        body="民警态度恶劣",
        against_officer=accused,
        now=at(0),
    )
    assert complaint.handling_unit_id == unit("33010201").id
    assert complaint.investigating_unit_id == unit("330102").id  # 东湖区公安分局, the unit above
    walk(complaint, ComplaintStatus.ROUTED, supervisor=supervisor, explainer=None, now=at(0.1))

    # A supervisor posted at the accused's own station works county-wide, so sees the county's complaints, but
    # may not investigate this one: not in the queue, and every step refused, writing nothing.
    own = posted("33010201", "T-own-sup", Role.SUPERVISOR)
    assert supervision.queue(own) == []
    before = audit_count()
    for step in (
        lambda: supervision.accept(complaint=complaint, officer=own, now=at(1)),
        lambda: supervision.request_explanation(complaint=complaint, officer=own, now=at(1)),
        lambda: supervision.give_verdict(
            complaint=complaint, officer=own, verdict="not_substantiated", action="无", now=at(1)
        ),
        lambda: supervision.answer(complaint=complaint, officer=own, text="不属实", now=at(1)),
    ):
        with pytest.raises(Forbidden, match="上级督察部门"):
            step()
        db.session.rollback()
    with pytest.raises(Forbidden):
        supervision.accept(complaint=complaint, officer=accused, now=at(1))  # not a supervisor at all
    assert audit_count() == before and db.session.get(Complaint, complaint.id).state is ComplaintStatus.ROUTED

    # The other county's supervisor does not see it at all.
    elsewhere = posted("330103", "T-jb-sup", Role.SUPERVISOR)
    with pytest.raises(NotFound, match="未找到该投诉"):
        supervision.accept(complaint=complaint, officer=elsewhere, now=at(1))
    assert supervision.queue(elsewhere) == []

    # The county's supervisor investigates; the accused's station gives its explanation, and only that.
    county = posted("330102", "T-county-sup", Role.SUPERVISOR)
    assert [c.id for c in supervision.queue(county)] == [complaint.id]
    supervision.accept(complaint=complaint, officer=county, now=at(1))
    supervision.request_explanation(complaint=complaint, officer=county, request="请说明", now=at(2))
    colleague = world.officer("100003")  # 黄敏, the same station
    assert [c.id for c in complaint_inbox.inbox(colleague)] == [complaint.id]
    complaint_inbox.explain(complaint=complaint, officer=colleague, explanation="已调取执法记录仪", now=at(3))
    with pytest.raises(Forbidden):
        supervision.give_verdict(complaint=complaint, officer=own, verdict="not_substantiated", action="无", now=at(4))
    db.session.rollback()
    c = supervision.give_verdict(
        complaint=complaint, officer=county, verdict="partly_substantiated", action="责令书面检查", now=at(4)
    )
    assert c.verdict_by_id == county.id and c.explained_by_id == colleague.id


def test_the_queue_puts_the_nearest_deadline_first_and_filters_by_status(world, citizen, supervisor):
    made = []
    for hours in (0, 1, 2):
        complaint = complaints.file(
            citizen=citizen, incident=report_at(citizen, "DH-0001"), body=f"投诉{hours}", now=at(hours)
        )
        walk(complaint, ComplaintStatus.ROUTED, supervisor=supervisor, explainer=None, now=at(hours))
        made.append(complaint.id)
    # The newest is accepted and asked for an explanation with a short deadline: it becomes the most urgent.
    walk(made[2], ComplaintStatus.ACCEPTED, supervisor=supervisor, explainer=None, now=at(3))
    urgent = db.session.get(Complaint, made[2])
    urgent.step_due_at = at(-1)  # already overdue
    db.session.commit()
    assert [c.id for c in supervision.queue(supervisor)] == [made[2], made[0], made[1]]
    assert [c.id for c in supervision.queue(supervisor, status="routed")] == [made[0], made[1]]
    assert [c.id for c in supervision.queue(supervisor, status="accepted")] == [made[2]]
    with pytest.raises(Exception, match="未知的投诉状态"):
        supervision.queue(supervisor, status="nonsense")


def test_an_answer_left_unrated_closes_when_the_rating_window_ends_and_a_late_rating_is_refused(
    world, citizen, supervisor, officer
):
    complaint = complaints.file(citizen=citizen, incident=report_at(citizen, "DH-0001"), body="出警太慢", now=at(0))
    c = walk(complaint, ComplaintStatus.ANSWERED, supervisor=supervisor, explainer=officer, answer="已核查", now=at(1))
    window_ends = c.step_due_at
    assert window_ends == add_days(c.answered_at, 7, working=True)
    other = complaints.file(citizen=citizen, incident=report_at(citizen, "DH-0002"), body="态度不好", now=at(0))
    walk(other, ComplaintStatus.DECIDED, supervisor=supervisor, explainer=officer, now=at(1))

    before = audit_count()
    assert complaints.close_unrated(now=window_ends - timedelta(minutes=1)) == 0
    assert db.session.get(Complaint, c.id).state is ComplaintStatus.ANSWERED and audit_count() == before

    assert complaints.close_unrated(now=window_ends) == 1  # the other complaint is not answered: it stays open
    closed = db.session.get(Complaint, c.id)
    assert (closed.state, closed.closed_at, closed.rating, closed.step_due_at) == (
        ComplaintStatus.CLOSED,
        window_ends,
        None,
        None,
    )
    assert db.session.get(Complaint, other.id).state is ComplaintStatus.DECIDED
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "complaint.closed", AuditEntry.subject_id == c.id)
    ).one()
    assert json.loads(entry.detail)["unrated"] is True and entry.actor_kind == "system"
    assert complaints.close_unrated(now=window_ends + timedelta(days=1)) == 0  # closed once, never again

    with pytest.raises(Conflict, match="评价期限已过"):
        complaints.rate_answer(complaint=closed, citizen=citizen, rating=1, now=window_ends + timedelta(hours=1))
    assert db.session.get(Complaint, c.id).rating is None
