"""The supervisor's side of the complaint workflow: the queue, accepting a complaint, asking the handling unit for
its written explanation, the verdict with the action taken, and the answer to the complainant.

Supervision investigates in the complaint's investigating unit: the handling unit's supervisors, or, for a
complaint about an officer, those of the unit above the officer's. A supervisor posted in the officer's own unit
never acts on it (that unit only explains, in `casework.complaint_inbox`). A complaint outside the supervisor's
scope answers exactly as a missing one.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from casework import audit, clock, settings
from casework.access import (
    require_investigating_scope,
    require_investigator,
    require_officer,
    visible_units_clause,
)
from casework.complaint_status import OPEN, ComplaintStatus, Verdict
from casework.complaints import deadline, locked, move
from casework.db import db
from casework.errors import InvalidInput
from casework.events import Event, publish
from casework.models import Complaint, Officer, Role
from casework.text import clean
from casework.unit_of_work import use_case
from supervision import provisional
from supervision.calendar import Due


def queue(officer: Officer, *, status: str | None = None, limit: int = 200) -> list[Complaint]:
    """The complaints routed to supervision that the supervisor's scope investigates, the most urgent first: the
    nearest step deadline (so overdue ones lead), then the oldest; open ones unless a status is asked for."""
    require_officer(officer, Role.SUPERVISOR)
    colleagues = select(Officer.id).where(Officer.unit_id == officer.unit_id)
    query = select(Complaint).where(
        visible_units_clause(officer, Complaint.investigating_unit_id),
        Complaint.routed_to_supervision_at.is_not(None),
        # a complaint about an officer of the supervisor's own unit is the unit above's to investigate
        or_(Complaint.against_officer_id.is_(None), Complaint.against_officer_id.not_in(colleagues)),
    )
    if status:
        try:
            query = query.where(Complaint.status == ComplaintStatus(status).value)
        except ValueError:
            raise InvalidInput("未知的投诉状态") from None
    else:
        query = query.where(Complaint.status.in_(sorted(s.value for s in OPEN)))
    query = query.order_by(Complaint.step_due_at.is_(None), Complaint.step_due_at, Complaint.id)
    return list(db.session.scalars(query.limit(min(max(limit, 1), 500))))


def complaint_for_supervisor(officer: Officer, complaint_id: int) -> Complaint:
    """One complaint the supervisor's scope investigates; any other answers as a missing one."""
    require_officer(officer, Role.SUPERVISOR)
    complaint = db.session.get(Complaint, complaint_id)
    require_investigating_scope(officer, complaint)
    return complaint


def _investigator(officer: Officer, complaint: Complaint) -> Complaint:
    """The complaint, locked, once `officer` is a supervisor who may investigate it."""
    complaint = complaint_for_supervisor(officer, complaint.id)
    require_investigator(officer, complaint)
    return locked(complaint)


@use_case
def accept(*, complaint: Complaint, officer: Officer, now: datetime | None = None) -> Complaint:
    """A supervisor takes a routed complaint on; the clock to ask for the unit's explanation starts."""
    complaint = _investigator(officer, complaint)
    now = now or clock.now()
    move(complaint, ComplaintStatus.ACCEPTED, step_due=deadline(now, "COMPLAINT_ACCEPT_DAYS"))
    complaint.accepted_at = now
    complaint.accepted_by_id = officer.id
    audit.record(
        actor=officer,
        action="complaint.accepted",
        subject=complaint,
        at=now,
        detail={"review": complaint.review, "step_due_at": complaint.step_due_at.isoformat()},
    )
    publish(Event.COMPLAINT_ACCEPTED, complaint_id=complaint.id, officer_id=officer.id, review=complaint.review)
    return complaint


@use_case
def request_explanation(
    *, complaint: Complaint, officer: Officer, request: str | None = None, now: datetime | None = None
) -> Complaint:
    """Ask the handling unit for its written explanation, due in `COMPLAINT_EXPLANATION_DAYS`."""
    complaint = _investigator(officer, complaint)
    asked = ""
    if request is not None and not (isinstance(request, str) and not request.strip()):  # the request is optional
        asked = clean(request, missing="", limit=settings.get("COMPLAINT_BODY_MAX"), what="说明要求")
    now = now or clock.now()
    due = deadline(now, "COMPLAINT_EXPLANATION_DAYS")
    move(complaint, ComplaintStatus.INVESTIGATING, step_due=due)
    complaint.explanation_requested_at = now
    complaint.explanation_requested_by_id = officer.id
    complaint.explanation_request = asked or None
    provisional.assign(complaint, "explanation_due_at", due)
    audit.record(
        actor=officer,
        action="complaint.explanation_requested",
        subject=complaint,
        at=now,
        detail={"unit_id": complaint.handling_unit_id, "due_at": due.at.isoformat(), "length": len(asked)},
    )
    publish(
        Event.COMPLAINT_EXPLANATION_REQUESTED,
        complaint_id=complaint.id,
        unit_id=complaint.handling_unit_id,
        due_at=due.at.isoformat(),
    )
    return complaint


@use_case
def give_verdict(
    *, complaint: Complaint, officer: Officer, verdict: str, action: str, now: datetime | None = None
) -> Complaint:
    """Supervision's finding on the complaint (属实 / 部分属实 / 不属实) and the action taken against the handling."""
    complaint = _investigator(officer, complaint)
    try:
        found = Verdict(verdict)
    except ValueError:
        raise InvalidInput("请选择调查结论") from None
    action = clean(action, missing="请填写处理措施", limit=settings.get("COMPLAINT_BODY_MAX"), what="处理措施")
    now = now or clock.now()
    answer_due = provisional.basis(complaint, "due_at") if complaint.due_at and complaint.due_at > now else None
    move(complaint, ComplaintStatus.DECIDED, step_due=answer_due or Due.fixed(now))
    complaint.verdict = found.value
    complaint.verdict_action = action
    complaint.verdict_at = now
    complaint.verdict_by_id = officer.id
    audit.record(
        actor=officer,
        action="complaint.verdict_given",
        subject=complaint,
        at=now,
        detail={"verdict": found.value, "review": complaint.review, "length": len(action)},
    )
    publish(Event.COMPLAINT_VERDICT_GIVEN, complaint_id=complaint.id, verdict=found.value)
    return complaint


@use_case
def answer(*, complaint: Complaint, officer: Officer, text: str, now: datetime | None = None) -> Complaint:
    """Answer the complainant directly (pushed to WeChat by the answer's subscribers); the rating clock starts."""
    complaint = _investigator(officer, complaint)
    text = clean(text, missing="请填写答复内容", limit=settings.get("COMPLAINT_BODY_MAX"), what="答复")
    now = now or clock.now()
    move(complaint, ComplaintStatus.ANSWERED, step_due=deadline(now, "COMPLAINT_RATING_DAYS"))
    complaint.answer = text
    complaint.answered_at = now
    complaint.answered_by_id = officer.id
    audit.record(
        actor=officer,
        action="complaint.answered",
        subject=complaint,
        at=now,
        detail={
            "length": len(text),
            "review": complaint.review,
            "late": bool(complaint.due_at and now > complaint.due_at),
        },
    )
    publish(Event.COMPLAINT_ANSWERED, complaint_id=complaint.id)
    return complaint


def investigator(complaint: Complaint) -> str:
    """Who investigates the complaint, as its page names it: once accepted, the 督察 of the accepting supervisor's
    unit (not the unit complained about); before that, the supervision departments that may take it on."""
    if complaint.accepted_by_id is not None:
        officer = db.session.get(Officer, complaint.accepted_by_id)
        return f"{officer.unit.name}督察({officer.name})"
    if complaint.investigating_unit is None:
        return "未分派"
    return f"待督察部门受理({complaint.investigating_unit.name}及上级单位督察)"


@dataclass(frozen=True)
class Step:
    """One step of a complaint's life as the console shows it: what, when, by when it was due."""

    name: str
    at: datetime | None
    due_at: datetime | None = None
    due_field: str | None = None  # the complaint's column the deadline comes from

    @property
    def late(self) -> bool:
        return self.at is not None and self.due_at is not None and self.at > self.due_at


def steps(complaint: Complaint) -> list[Step]:
    """The steps of the complaint's current review in order: the ones taken with their times, the one it waits
    for with its deadline (earlier reviews are kept as `first_*`)."""
    taken = [
        Step("群众提交投诉", complaint.filed_at),
        Step("转交办案单位", complaint.routed_to_unit_at),
        Step("转交督察部门", complaint.routed_to_supervision_at),
    ]
    if complaint.reopened_at:
        taken.append(Step("群众不满意,重新受理复查", complaint.reopened_at))
    else:
        taken.append(Step("督察受理", complaint.accepted_at))
    taken += [
        Step("要求单位作出情况说明", complaint.explanation_requested_at),
        Step("单位提交情况说明", complaint.explained_at, complaint.explanation_due_at, "explanation_due_at"),
        Step("作出调查结论", complaint.verdict_at),
        Step("答复投诉人", complaint.answered_at, complaint.due_at, "due_at"),
        Step("投诉人评价", complaint.rated_at),
        Step("办结", complaint.closed_at),
    ]
    done = [step for step in taken if step.at is not None]
    if complaint.state is not ComplaintStatus.CLOSED:
        waiting = NEXT_STEP[complaint.state]
        done.append(Step(waiting, None, complaint.step_due_at, "step_due_at"))
    return done


NEXT_STEP = {
    ComplaintStatus.FILED: "转交办案单位和督察部门",
    ComplaintStatus.ROUTED: "督察受理",
    ComplaintStatus.ACCEPTED: "要求单位作出情况说明",
    ComplaintStatus.INVESTIGATING: "单位提交情况说明",
    ComplaintStatus.EXPLAINED: "作出调查结论",
    ComplaintStatus.DECIDED: "答复投诉人",
    ComplaintStatus.ANSWERED: "投诉人评价",
}
