"""After scoring: the handling unit's appeal (申诉) of a finding within the plan's window, the organiser's review
(复核: upheld withdraws the finding, rejected confirms it), the window's close (findings not appealed are
confirmed; run by the supervision sweep with `now`), and the rectification (整改) each confirmed finding becomes:
a deadline clock of the three-colour engine (yellow at once, red when overdue) that stops only when the unit has
recorded what was done and the organiser has accepted it.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from casework import audit, clock
from casework.access import require_officer, scope_of
from casework.db import db
from casework.errors import Conflict, NotFound
from casework.events import Event, publish
from casework.models import Officer, Role, System
from casework.text import clean
from casework.unit_of_work import use_case
from supervision import clocks, evaluation_clocks, points
from supervision.evaluation import require_organiser
from supervision.evaluation_models import (
    EvaluationFinding,
    EvaluationPlan,
    EvaluationRectification,
    EvaluationTask,
    FindingState,
    PlanState,
)
from supervision.models import DeadlineClock, SubjectType, Warning

UNIT_ROLES = (Role.OFFICER, Role.LEGAL_OFFICER)
EVALUATION = System("evaluation")
MISSING_FINDING = "未找到该考评问题"
RECTIFICATION = SubjectType.RECTIFICATION.value


def findings_for_unit(officer: Officer) -> list[EvaluationFinding]:
    """The findings sent to units in the officer's scope (submitted tasks only), newest first."""
    scope = scope_of(officer)
    return list(
        db.session.scalars(
            select(EvaluationFinding)
            .join(EvaluationTask, EvaluationTask.id == EvaluationFinding.task_id)
            .where(EvaluationTask.submitted_at.is_not(None), scope.clause(EvaluationFinding.unit_id))
            .order_by(EvaluationFinding.id.desc())
            .limit(500)
        )
    )


def _unit_finding(officer: Officer, finding_id: int) -> EvaluationFinding:
    finding = db.session.get(EvaluationFinding, finding_id, with_for_update=True)
    if finding is None or finding.task.submitted_at is None or not scope_of(officer).covers(finding.unit_id):
        raise NotFound(MISSING_FINDING)
    return finding


@use_case
def appeal(*, officer: Officer, finding_id: int, reason: str, now: datetime | None = None) -> EvaluationFinding:
    """The handling unit appeals a finding within the plan's appeal window, with its reasons."""
    require_officer(officer, *UNIT_ROLES)
    now = now or clock.now()
    finding = _unit_finding(officer, finding_id)
    plan = db.session.get(EvaluationPlan, finding.plan_id)
    if officer.unit_id == plan.organiser_unit_id:
        raise NotFound(MISSING_FINDING)
    if finding.state != FindingState.RECORDED.value:
        raise Conflict("该问题不在可申诉状态")
    if now > plan.appeal_due_at:
        raise Conflict("申诉期限已过")
    finding.appeal_reason = clean(reason, missing="请填写申诉理由", limit=2000, what="申诉理由")
    finding.state, finding.appealed_at, finding.appealed_by_id = FindingState.APPEALED.value, now, officer.id
    evaluation_clocks.watch_appeal(finding, plan, at=now)  # red to the organiser if unreviewed at its deadline
    audit.record(
        actor=officer,
        action="evaluation.finding_appealed",
        subject=finding,
        at=now,
        detail={"reason": finding.appeal_reason},
    )
    publish(Event.EVALUATION_FINDING_APPEALED, finding_id=finding.id)
    return finding


@use_case
def review(
    *, officer: Officer, finding_id: int, upheld: bool, reason: str, now: datetime | None = None
) -> EvaluationFinding:
    """The organiser reviews an appeal: upheld withdraws the finding; rejected confirms it (a rectification).

    A review after the plan's review deadline is still taken (refusing it would leave the appeal open for good, and
    its finding pending, with nobody able to settle it) but recorded as late: `late` in its audit entry, 逾期复核 on
    the pages, and the red warning the deadline raised stays in the record, resolved by this review."""
    now = now or clock.now()
    finding = db.session.get(EvaluationFinding, finding_id, with_for_update=True)
    if finding is None:
        raise NotFound(MISSING_FINDING)
    plan = db.session.get(EvaluationPlan, finding.plan_id)
    require_organiser(officer, plan)
    if finding.state != FindingState.APPEALED.value:
        raise Conflict("该问题没有待复核的申诉")
    finding.review_reason = clean(reason, missing="请填写复核意见", limit=2000, what="复核意见")
    finding.reviewed_at, finding.reviewed_by_id = now, officer.id
    finding.state = (FindingState.WITHDRAWN if upheld else FindingState.CONFIRMED).value
    late = now > plan.review_due_at
    evaluation_clocks.stop_appeal(finding, at=now)
    audit.record(
        actor=officer,
        action="evaluation.appeal_reviewed",
        subject=finding,
        at=now,
        detail={"upheld": bool(upheld), "reason": finding.review_reason, "late": late},
    )
    publish(Event.EVALUATION_APPEAL_REVIEWED, finding_id=finding.id, upheld=bool(upheld))
    if not upheld:
        _confirm(finding, plan, now, actor=officer)
    return finding


def _confirm(finding: EvaluationFinding, plan: EvaluationPlan, at: datetime, *, actor) -> EvaluationRectification:
    finding.state, finding.confirmed_at = FindingState.CONFIRMED.value, at
    rectification = EvaluationRectification(
        finding_id=finding.id, unit_id=finding.unit_id, created_at=at, due_at=at + timedelta(days=plan.rectify_days)
    )
    db.session.add(rectification)
    db.session.flush()
    case = finding.task.case
    watch = clocks.start(
        kind=points.EVALUATION_RECTIFY,
        subject_type=RECTIFICATION,
        subject_id=rectification.id,
        number=case.number,
        incident_id=case.id,
        unit_id=finding.unit_id,
        officer_id=finding.task.officer_id,
        started_at=at,
        detail={"criterion": finding.criterion.code, "plan": plan.name},
    )
    watch.rectify_due_at = rectification.due_at  # the plan's own window, not the point's default
    rectification.clock_id = watch.id
    audit.record(
        actor=actor,
        action="evaluation.finding_confirmed",
        subject=finding,
        at=at,
        detail={"rectification": rectification.id, "due_at": rectification.due_at},
    )
    publish(Event.EVALUATION_FINDING_CONFIRMED, finding_id=finding.id)
    return rectification


@use_case
def close_windows(*, now: datetime) -> int:
    """Close every plan whose appeal window has passed: its findings not appealed are confirmed; returns how
    many were. Idempotent (a closed plan is left alone)."""
    confirmed = 0
    due = db.session.scalars(
        select(EvaluationPlan)
        .where(EvaluationPlan.state == PlanState.SCORING.value, EvaluationPlan.appeal_due_at <= now)
        .with_for_update(skip_locked=True)
    )
    for plan in list(due):
        findings = db.session.scalars(
            select(EvaluationFinding)
            .join(EvaluationTask, EvaluationTask.id == EvaluationFinding.task_id)
            .where(
                EvaluationFinding.plan_id == plan.id,
                EvaluationFinding.state == FindingState.RECORDED.value,
                EvaluationTask.submitted_at.is_not(None),
            )
            .order_by(EvaluationFinding.id)
        )
        for finding in list(findings):
            _confirm(finding, plan, plan.appeal_due_at, actor=EVALUATION)
            confirmed += 1
        unsubmitted = db.session.scalars(
            select(EvaluationTask).where(EvaluationTask.plan_id == plan.id, EvaluationTask.submitted_at.is_(None))
        )
        for task in list(unsubmitted):  # too late to score now: its red is settled as the plan closed
            evaluation_clocks.stop_task(task, at=now, reason="plan_closed")
        plan.state, plan.closed_at = PlanState.CLOSED.value, now
        audit.record(
            actor=EVALUATION, action="evaluation.window_closed", subject=plan, at=now, detail={"confirmed": confirmed}
        )
    return confirmed


def rectifications_for(officer: Officer) -> list[EvaluationRectification]:
    """Rectifications of units in the officer's scope, and of plans the officer's unit organised."""
    scope = scope_of(officer)
    found = db.session.scalars(select(EvaluationRectification).order_by(EvaluationRectification.id.desc()).limit(1000))
    organised = {
        p
        for p in db.session.scalars(
            select(EvaluationPlan.id).where(EvaluationPlan.organiser_unit_id == officer.unit_id)
        )
    }
    return [r for r in found if scope.covers(r.unit_id) or r.finding.plan_id in organised]


def colour_of(rectification: EvaluationRectification) -> str | None:
    """The colour its clock shows now: red, yellow, or None once resolved."""
    watch = db.session.get(DeadlineClock, rectification.clock_id) if rectification.clock_id else None
    if watch is None or watch.stopped_at is not None:
        return None
    colours = set(
        db.session.scalars(select(Warning.colour).where(Warning.clock_id == watch.id, Warning.resolved_at.is_(None)))
    )
    return "red" if "red" in colours else ("yellow" if "yellow" in colours else None)


@use_case
def record_rectification(
    *, officer: Officer, rectification_id: int, text: str, now: datetime | None = None
) -> EvaluationRectification:
    """The unit records what it did; the organiser then accepts it (or sends it back)."""
    require_officer(officer, *UNIT_ROLES)
    now = now or clock.now()
    rectification = db.session.get(EvaluationRectification, rectification_id, with_for_update=True)
    if rectification is None or not scope_of(officer).covers(rectification.unit_id):
        raise NotFound("未找到该整改任务")
    if rectification.accepted_at is not None:
        raise Conflict("该整改已验收")
    rectification.done_text = clean(text, missing="请填写整改情况", limit=2000, what="整改情况")
    rectification.done_at, rectification.done_by_id = now, officer.id
    audit.record(
        actor=officer,
        action="evaluation.rectification_recorded",
        subject=rectification,
        at=now,
        detail={"text": rectification.done_text},
    )
    publish(Event.EVALUATION_RECTIFICATION_RECORDED, rectification_id=rectification.id)
    return rectification


@use_case
def accept_rectification(
    *, officer: Officer, rectification_id: int, accepted: bool = True, reason: str = "", now: datetime | None = None
) -> EvaluationRectification:
    """The organiser accepts the recorded rectification (its clock stops, the sweep resolves its warnings), or
    sends it back to be done again."""
    now = now or clock.now()
    rectification = db.session.get(EvaluationRectification, rectification_id, with_for_update=True)
    if rectification is None:
        raise NotFound("未找到该整改任务")
    require_organiser(officer, db.session.get(EvaluationPlan, rectification.finding.plan_id))
    if rectification.accepted_at is not None:
        raise Conflict("该整改已验收")
    if rectification.done_at is None:
        raise Conflict("单位尚未报送整改情况")
    if accepted:
        rectification.accepted_at, rectification.accepted_by_id = now, officer.id
        clocks.stop(db.session.get(DeadlineClock, rectification.clock_id), at=now, reason="accepted")
    else:
        rectification.done_at = rectification.done_by_id = None
    audit.record(
        actor=officer,
        action="evaluation.rectification_accepted" if accepted else "evaluation.rectification_returned",
        subject=rectification,
        at=now,
        detail={"reason": (reason or "").strip()[:2000]},
    )
    if accepted:
        publish(Event.EVALUATION_RECTIFICATION_ACCEPTED, rectification_id=rectification.id)
    return rectification


def _accepted(target: DeadlineClock) -> bool:
    found = db.session.get(EvaluationRectification, target.subject_id)
    return found is not None and found.accepted_at is not None


# The sweep asks these before raising: a rectification is gone only once accepted (a warning's own rectification
# answer does not resolve it).
CONDITIONS: dict[str, Callable[[DeadlineClock], bool]] = {points.EVALUATION_RECTIFY: _accepted}
