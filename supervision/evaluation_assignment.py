"""The organiser's answers to a task its evaluator has not submitted: reassign it to another eligible evaluator (the
draw's rules: a legal officer under the organising unit whose own scope does not cover the handling unit and who
never handled the case) or extend its scoring deadline. Each is audited and restarts the task's scoring clock; the
warnings of the old deadline are resolved at once.

A new deadline must fall before the plan's appeal deadline: findings submitted after it would reach the unit with
no time left to appeal, and the window's close would never confirm them.
"""

from datetime import datetime

from casework import audit, clock
from casework.db import db
from casework.errors import Conflict, InvalidInput, NotFound
from casework.events import Event, publish
from casework.models import Officer
from casework.text import clean
from casework.unit_of_work import use_case
from supervision import clocks, evaluation, evaluation_clocks, warnings
from supervision import evaluation_sampling as sampling
from supervision.evaluation_models import EvaluationTask, PlanState


def eligible_evaluators(task: EvaluationTask, pool: list[sampling.Evaluator] | None = None) -> list[Officer]:
    """Who may take the task over: the draw's pool (`pool`, when the caller already has the plan's), eligible for
    its unit and case, other than its evaluator."""
    handlers = evaluation.handlers_of(task.case)
    chosen = [
        e.officer_id
        for e in (evaluation.evaluators_for(task.plan) if pool is None else pool)
        if e.officer_id != task.evaluator_id and sampling.eligible(e, task.unit_id, handlers)
    ]
    return [db.session.get(Officer, officer_id) for officer_id in sorted(chosen)]


def _open_task(actor: Officer, task_id: int) -> EvaluationTask:
    task = db.session.get(EvaluationTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound(evaluation.MISSING_TASK)
    evaluation.require_organiser(actor, task.plan)
    if task.plan.state != PlanState.SCORING.value:
        raise Conflict("该方案已结束评查")
    if task.submitted_at is not None:
        raise Conflict("该任务已提交,无需延期或改派")
    return task


def _checked_due(task: EvaluationTask, due_at: datetime | None, now: datetime) -> datetime:
    if due_at is None:
        raise InvalidInput("请填写新的评查截止时间")
    if not now < due_at < task.plan.appeal_due_at:
        raise InvalidInput("新的评查截止时间须晚于现在,并早于方案的申诉截止时间")
    return due_at


def _restart(task: EvaluationTask, *, now: datetime, why: str) -> None:
    """Stop the task's scoring clock (its open warnings resolved now) and start one for its current deadline."""
    old = evaluation_clocks.task_clock(task)
    if clocks.stop(old, at=now, reason=why):
        warnings.resolve_open(old, at=now, resolution=why)
    evaluation_clocks.watch_task(task, at=now)


@use_case
def extend(
    *, actor: Officer, task_id: int, due_at: datetime | None, reason: str, now: datetime | None = None
) -> EvaluationTask:
    """Give the task's evaluator until `due_at` (later than the current deadline)."""
    now = now or clock.now()
    task = _open_task(actor, task_id)
    reason = clean(reason, missing="请填写延期理由", limit=500, what="延期理由")
    due_at = _checked_due(task, due_at, now)
    before = task.scoring_due_at
    if due_at <= before:
        raise InvalidInput("延期后的评查截止时间须晚于原截止时间")
    task.due_at = due_at
    _restart(task, now=now, why="extended")
    audit.record(
        actor=actor,
        action="evaluation.task_extended",
        subject=task,
        at=now,
        detail={"due_before": before, "due_after": due_at, "reason": reason},
    )
    publish(Event.EVALUATION_TASK_EXTENDED, task_id=task.id)
    return task


@use_case
def reassign(
    *,
    actor: Officer,
    task_id: int,
    evaluator_id: int,
    reason: str,
    due_at: datetime | None = None,
    now: datetime | None = None,
) -> EvaluationTask:
    """Hand the task to another eligible evaluator, with a new deadline when the current one has passed (or one
    given). Findings the first evaluator recorded but never submitted stay on the task for the new one to keep or
    remove."""
    now = now or clock.now()
    task = _open_task(actor, task_id)
    reason = clean(reason, missing="请填写改派理由", limit=500, what="改派理由")
    chosen = next((o for o in eligible_evaluators(task) if o.id == evaluator_id), None)
    if chosen is None:
        raise InvalidInput("所选人员不能评查该案件:须为其他单位的法制员,且未参与办理该案件")
    if due_at is not None or now >= task.scoring_due_at:
        task.due_at = _checked_due(task, due_at, now)
    before = task.evaluator_id
    task.evaluator_id, task.evaluator = chosen.id, chosen
    task.assigned_at, task.notified_at = now, None
    _restart(task, now=now, why="reassigned")
    audit.record(
        actor=actor,
        action="evaluation.task_reassigned",
        subject=task,
        at=now,
        detail={
            "from": before,
            "to": chosen.id,
            "due_at": task.scoring_due_at,
            "reason": reason,
            "draft_findings": [f.id for f in task.findings],
        },
    )
    publish(Event.EVALUATION_TASK_ASSIGNED, task_id=task.id, evaluator_id=chosen.id)
    return task
