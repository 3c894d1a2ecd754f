"""The deadlines of an evaluation plan, watched by the three-colour engine like any other: a task's scoring
deadline (blue to its evaluator before it, red to the organiser when it passed unsubmitted) and the review deadline
of each appeal (red to the organiser when it passed unreviewed).

Each is a deadline clock whose window is the plan's (or the task's own, once extended or reassigned); it stops
when its condition is gone (submitted, reviewed) and the sweep then resolves its warnings. The warnings go to named
people, not to the unit's usual ones: `RECIPIENTS` tells the sweep who.
"""

import math
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from casework.db import db
from casework.models import Officer, Role
from supervision import clocks, points
from supervision.evaluation_models import EvaluationFinding, EvaluationPlan, EvaluationTask, FindingState
from supervision.models import Colour, DeadlineClock, SubjectType

TASK = SubjectType.EVALUATION_TASK.value
APPEAL = SubjectType.APPEAL.value
ORGANISER_ROLES = (Role.LEGAL_OFFICER, Role.SUPERVISOR)


def _minutes(start: datetime, due: datetime) -> int:
    """The window in whole minutes, rounded up: red never fires before the deadline itself."""
    return max(1, math.ceil((due - start).total_seconds() / 60))


def watch_task(task: EvaluationTask, *, at: datetime) -> DeadlineClock:
    """Start the scoring clock of a task sent to its evaluator at `at` (in the caller's transaction)."""
    return clocks.start(
        kind=points.EVALUATION_SCORING_DUE,
        subject_type=TASK,
        subject_id=task.id,
        number=task.case.number,
        unit_id=task.evaluator.unit_id,
        officer_id=task.evaluator_id,
        started_at=at,
        minutes=_minutes(at, task.scoring_due_at),
        detail={"plan": task.plan.name, "due_at": task.scoring_due_at.isoformat()},
    )


def task_clock(task: EvaluationTask) -> DeadlineClock | None:
    return clocks.running(TASK, task.id, points.EVALUATION_SCORING_DUE)


def stop_task(task: EvaluationTask, *, at: datetime, reason: str) -> bool:
    """Stop the task's scoring clock (submitted, reassigned, extended, plan closed); its warnings are resolved by
    the next sweep."""
    return clocks.stop(task_clock(task), at=at, reason=reason)


def watch_appeal(finding: EvaluationFinding, plan: EvaluationPlan, *, at: datetime) -> DeadlineClock:
    """Start the review clock of an appeal made at `at`: red to the organiser at the plan's review deadline."""
    return clocks.start(
        kind=points.EVALUATION_REVIEW_DUE,
        subject_type=APPEAL,
        subject_id=finding.id,
        number=finding.task.case.number,
        unit_id=plan.organiser_unit_id,
        started_at=at,
        minutes=_minutes(at, plan.review_due_at),
        detail={"plan": plan.name, "criterion": finding.criterion.code},
    )


def stop_appeal(finding: EvaluationFinding, *, at: datetime) -> bool:
    return clocks.stop(clocks.running(APPEAL, finding.id, points.EVALUATION_REVIEW_DUE), at=at, reason="reviewed")


def plan_id_of(subject_type: str, subject_id: int) -> int | None:
    """The plan a warning of these deadlines is about (for the warning page's link), if any."""
    if subject_type == TASK:
        task = db.session.get(EvaluationTask, subject_id)
        return task.plan_id if task else None
    if subject_type == APPEAL:
        finding = db.session.get(EvaluationFinding, subject_id)
        return finding.plan_id if finding else None
    return None


def organisers(plan: EvaluationPlan) -> list[Officer]:
    """The organising unit's active legal officers and supervisors: those who act for the plan."""
    found = db.session.scalars(
        select(Officer).where(Officer.unit_id == plan.organiser_unit_id, Officer.active.is_(True)).order_by(Officer.id)
    )
    return [o for o in found if any(r.value in (o.roles or []) for r in ORGANISER_ROLES)]


def _task_recipients(target: DeadlineClock, colour: Colour) -> list[Officer]:
    task = db.session.get(EvaluationTask, target.subject_id)
    if task is None:
        return []
    evaluator = [task.evaluator] if task.evaluator.active else []
    if colour is Colour.BLUE:
        return evaluator  # a reminder to the one who must act
    chosen = {o.id: o for o in [*organisers(task.plan), *evaluator]}
    return [chosen[k] for k in sorted(chosen)]


def _appeal_recipients(target: DeadlineClock, colour: Colour) -> list[Officer]:
    finding = db.session.get(EvaluationFinding, target.subject_id)
    return organisers(finding.task.plan) if finding is not None else []


def _submitted(target: DeadlineClock) -> bool:
    task = db.session.get(EvaluationTask, target.subject_id)
    return task is None or task.submitted_at is not None


def _reviewed(target: DeadlineClock) -> bool:
    finding = db.session.get(EvaluationFinding, target.subject_id)
    return finding is None or finding.state != FindingState.APPEALED.value


# The sweep asks these before raising: the condition is gone once the task is submitted or the appeal reviewed.
CONDITIONS: dict[str, Callable[[DeadlineClock], bool]] = {
    points.EVALUATION_SCORING_DUE: _submitted,
    points.EVALUATION_REVIEW_DUE: _reviewed,
}
RECIPIENTS: dict[str, Callable[[DeadlineClock, Colour], list[Officer]]] = {
    points.EVALUATION_SCORING_DUE: _task_recipients,
    points.EVALUATION_REVIEW_DUE: _appeal_recipients,
}
