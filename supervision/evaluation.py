"""Online case evaluation (执法考评): plans, the reproducible draw of cases and cross-unit evaluators, and scoring
a sampled case online against the plan's standard version.

Evaluators are legal officers (法制员) of other units: never of a unit their own scope covers, never an officer
who handled the case. An evaluator reaches exactly the cases of their own tasks through these functions (every
view audited); the unit rule of `casework.access` is left as it is for everything else.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from casework import audit, case_materials, case_property, clock, measures
from casework.access import require_officer, scope_of
from casework.db import db
from casework.errors import Conflict, Forbidden, InvalidInput, NotFound
from casework.events import Event, publish
from casework.models import (
    Attachment,
    Case,
    CaseType,
    Material,
    Officer,
    Role,
    TimelineEntry,
    Unit,
    UnitLevel,
)
from casework.text import clean
from casework.unit_of_work import use_case
from supervision import evaluation_clocks
from supervision import evaluation_sampling as sampling
from supervision.evaluation_models import (
    EvaluationCriterion,
    EvaluationFinding,
    EvaluationPlan,
    EvaluationTask,
    FindingState,
    PlanState,
)
from supervision.evaluation_standards import standard

ORGANISING_LEVELS = (UnitLevel.PROVINCE.value, UnitLevel.CITY.value, UnitLevel.COUNTY.value)
ORGANISER_ROLES = (Role.LEGAL_OFFICER, Role.SUPERVISOR)
FULL_SCORE = 100
MISSING_TASK = "未找到该考评任务"
MISSING_PLAN = "未找到该考评方案"


def score(findings) -> int:
    """A sampled case's score: the full score less the points of every finding that counts (never typed)."""
    return max(0, FULL_SCORE - sum(f.points for f in findings if f.counts))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def require_organiser(officer: Officer, plan: EvaluationPlan) -> None:
    """The organising unit's legal officers and supervisors act for the plan (review, acceptance, draw)."""
    require_officer(officer, *ORGANISER_ROLES)
    if officer.unit_id != plan.organiser_unit_id:
        raise NotFound(MISSING_PLAN)


def plan_for(officer: Officer, plan_id: int) -> EvaluationPlan:
    """A plan the officer may see: organised by a unit in their scope, or covering a unit in their scope."""
    require_officer(officer)
    plan = db.session.get(EvaluationPlan, plan_id)
    scope = scope_of(officer)
    if plan is None or not (scope.covers(plan.organiser_unit_id) or any(scope.covers(u) for u in plan.unit_ids)):
        raise NotFound(MISSING_PLAN)
    return plan


def plans_for(officer: Officer) -> list[EvaluationPlan]:
    scope = scope_of(officer)
    plans = db.session.scalars(select(EvaluationPlan).order_by(EvaluationPlan.id.desc()).limit(500))
    return [p for p in plans if scope.covers(p.organiser_unit_id) or any(scope.covers(u) for u in p.unit_ids)]


def organisable_units(officer: Officer) -> list[Unit]:
    """The units a plan of the officer's unit may cover: handling units below it."""
    scope = scope_of(officer)
    units = db.session.scalars(select(Unit).where(scope.clause(Unit.id)).order_by(Unit.code))
    return [u for u in units if u.id != officer.unit_id]


@use_case
def create_plan(
    *,
    actor: Officer,
    name: str,
    standard_id: int,
    period_start: date,
    period_end: date,
    unit_ids: list[int],
    case_types: list[str],
    sample_share: float | None = None,
    sample_count: int | None = None,
    scoring_due_at: datetime,
    appeal_due_at: datetime,
    review_due_at: datetime,
    rectify_days: int = 15,
    seed: str | None = None,
    now: datetime | None = None,
) -> EvaluationPlan:
    """A plan of the actor's unit (province, city or county); the seed is recorded (chosen here when not given)."""
    require_officer(actor, *ORGANISER_ROLES)
    now = now or clock.now()
    if actor.unit.level not in ORGANISING_LEVELS:
        raise Forbidden("考评方案须由省、市或县级单位制定")
    name = clean(name, missing="请填写方案名称", limit=128, what="方案名称")
    chosen = standard(standard_id)
    if period_start is None or period_end is None or period_end < period_start:
        raise InvalidInput("考评期间不正确")
    scope = scope_of(actor)
    unit_ids = sorted({int(u) for u in unit_ids})
    if not unit_ids or any(not scope.covers(u) or u == actor.unit_id for u in unit_ids):
        raise InvalidInput("请选择本单位下属的被考评单位")
    types = sorted({CaseType(t).value for t in case_types if t in {c.value for c in CaseType}})
    if not types:
        raise InvalidInput("请选择案件类型")
    if (sample_share is None) == (sample_count is None):
        raise InvalidInput("请填写抽取比例或每单位抽取数量(二选一)")
    if sample_share is not None and not 0 < sample_share <= 1:
        raise InvalidInput("抽取比例须在0到1之间")
    if sample_count is not None and not 0 < sample_count <= 1000:
        raise InvalidInput("每单位抽取数量须为1到1000")
    if not now < scoring_due_at <= appeal_due_at <= review_due_at:
        raise InvalidInput("期限须依次为:评查截止 ≤ 申诉截止 ≤ 复核截止,且晚于现在")
    if not 0 < rectify_days <= 365:
        raise InvalidInput("整改期限须为1到365天")
    seed = (seed or "").strip()[:64] or secrets.token_hex(8)
    plan = EvaluationPlan(
        name=name,
        organiser_unit_id=actor.unit_id,
        standard_id=chosen.id,
        period_start=period_start,
        period_end=period_end,
        unit_ids=unit_ids,
        case_types=types,
        sample_share=sample_share,
        sample_count=sample_count,
        seed=seed,
        state=PlanState.DRAFT.value,
        scoring_due_at=scoring_due_at,
        appeal_due_at=appeal_due_at,
        review_due_at=review_due_at,
        rectify_days=rectify_days,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(plan)
    db.session.flush()
    audit.record(
        actor=actor,
        action="evaluation.plan_created",
        subject=plan,
        at=now,
        detail={"name": name, "standard": f"{chosen.name} v{chosen.version}", "units": unit_ids, "seed": seed},
    )
    publish(Event.EVALUATION_PLAN_CREATED, plan_id=plan.id)
    return plan


def handlers_of(case: Case) -> set[int]:
    """Every officer who handled the case: lead and second officer, the responding officer, whoever started a
    measure, seized property or added a material."""
    found = {case.lead_officer_id, case.second_officer_id, case.incident.assigned_officer_id}
    found |= {m.officer_id for m in measures.measures_of(case)}
    found |= {p.seized_by_id for p in case_property.items_of(case)}
    found |= {m.uploaded_by_id for m in case_materials.materials_of(case)}
    return {officer_id for officer_id in found if officer_id is not None}


def candidate_cases(plan: EvaluationPlan) -> dict[int, list[Case]]:
    """The plan's cases by handling unit: of its units and case types, accepted within its period."""
    found = db.session.scalars(
        select(Case)
        .where(
            Case.unit_id.in_(plan.unit_ids),
            Case.case_type.in_(plan.case_types),
            Case.accepted_at >= _day_start(plan.period_start),
            Case.accepted_at < _day_start(plan.period_end + timedelta(days=1)),
        )
        .order_by(Case.id)
    )
    by_unit: dict[int, list[Case]] = {u: [] for u in plan.unit_ids}
    for case in found:
        by_unit[case.unit_id].append(case)
    return by_unit


def evaluators_for(plan: EvaluationPlan) -> list[sampling.Evaluator]:
    """The legal officers under the organising unit, each with the units their own scope covers."""
    organiser = db.session.get(Officer, plan.created_by_id)
    scope = scope_of(organiser)
    officers = db.session.scalars(select(Officer).where(Officer.active.is_(True), scope.clause(Officer.unit_id)))
    every_unit = frozenset(db.session.scalars(select(Unit.id)))
    pool = []
    for officer in officers:
        if Role.LEGAL_OFFICER.value not in (officer.roles or []):
            continue
        own = scope_of(officer)
        pool.append(sampling.Evaluator(officer.id, officer.unit_id, every_unit if own.everything else own.unit_ids))
    return pool


@use_case
def draw(*, actor: Officer, plan_id: int, now: datetime | None = None) -> list[EvaluationTask]:
    """Draw the plan's cases and evaluators from its seed and send the tasks to the evaluators' inboxes."""
    plan = db.session.get(EvaluationPlan, plan_id, with_for_update=True)
    if plan is None:
        raise NotFound(MISSING_PLAN)
    require_organiser(actor, plan)
    if plan.state != PlanState.DRAFT.value:
        raise Conflict("该方案已抽取")
    now = now or clock.now()
    by_unit = candidate_cases(plan)
    cases = {c.id: c for unit_cases in by_unit.values() for c in unit_cases}
    try:
        drawn = sampling.draw(
            seed=plan.seed,
            cases_by_unit={u: [c.id for c in found] for u, found in by_unit.items()},
            handlers={case_id: handlers_of(case) for case_id, case in cases.items()},
            evaluators=evaluators_for(plan),
            share=plan.sample_share,
            count=plan.sample_count,
        )
    except sampling.NoEvaluator as missing:
        raise Conflict(f"案件 {cases[missing.case_id].number} 没有可回避的其他单位法制员可分派") from None
    if not drawn:
        raise Conflict("考评期间内被考评单位没有符合条件的案件")
    tasks = []
    for item in drawn:
        case = cases[item.case_id]
        task = EvaluationTask(
            plan_id=plan.id,
            case_id=case.id,
            unit_id=item.unit_id,
            officer_id=case.lead_officer_id,
            evaluator_id=item.evaluator_id,
            assigned_at=now,
        )
        db.session.add(task)
        tasks.append(task)
    db.session.flush()
    plan.state, plan.drawn_at = PlanState.SCORING.value, now
    audit.record(
        actor=actor,
        action="evaluation.drawn",
        subject=plan,
        at=now,
        detail={"seed": plan.seed, "tasks": [[t.case_id, t.evaluator_id] for t in tasks]},
    )
    for task in tasks:
        evaluation_clocks.watch_task(task, at=now)
        publish(Event.EVALUATION_TASK_ASSIGNED, task_id=task.id, evaluator_id=task.evaluator_id)
    return tasks


def tasks_of(evaluator: Officer) -> list[EvaluationTask]:
    """The evaluator's inbox: open tasks first."""
    found = db.session.scalars(
        select(EvaluationTask).where(EvaluationTask.evaluator_id == evaluator.id).order_by(EvaluationTask.id)
    )
    return sorted(found, key=lambda t: (t.submitted_at is not None, t.id))


def open_task_count(evaluator: Officer) -> int:
    return sum(1 for t in tasks_of(evaluator) if t.submitted_at is None)


def task_for(evaluator: Officer, task_id: int) -> EvaluationTask:
    """One of the evaluator's own tasks; anyone else's answers as a missing one."""
    require_officer(evaluator)
    task = db.session.get(EvaluationTask, task_id)
    if task is None or task.evaluator_id != evaluator.id:
        raise NotFound(MISSING_TASK)
    return task


@dataclass
class CaseFileView:
    """What an evaluator reads of a sampled case."""

    task: EvaluationTask
    case: Case
    measures: list
    property_items: list
    materials: list[Material]
    timeline: list[TimelineEntry]
    evidence: list[Attachment]


@use_case
def read_case(*, evaluator: Officer, task_id: int, what: str = "case", now: datetime | None = None) -> CaseFileView:
    """The sampled case's file for its evaluator; each view is audited (what was read)."""
    task = task_for(evaluator, task_id)
    case = task.case
    audit.record(
        actor=evaluator,
        action="evaluation.case_viewed",
        subject=case,
        at=now or clock.now(),
        detail={"task": task.id, "what": what},
    )
    return CaseFileView(
        task=task,
        case=case,
        measures=measures.measures_of(case),
        property_items=case_property.items_of(case),
        materials=case_materials.materials_of(case),
        timeline=list(
            db.session.scalars(
                select(TimelineEntry).where(TimelineEntry.incident_id == case.id).order_by(TimelineEntry.id)
            )
        ),
        evidence=list(
            db.session.scalars(select(Attachment).where(Attachment.incident_id == case.id).order_by(Attachment.id))
        ),
    )


@use_case
def read_material(*, evaluator: Officer, task_id: int, material_id: int, now: datetime | None = None) -> Material:
    """A material of the task's case (and of no other case) for its evaluator; audited."""
    task = task_for(evaluator, task_id)
    material = db.session.get(Material, material_id)
    if material is None or material.case_id != task.case_id:
        raise NotFound("未找到该材料")
    audit.record(
        actor=evaluator,
        action="evaluation.material_viewed",
        subject=material,
        at=now or clock.now(),
        detail={"task": task.id, "case": task.case.number},
    )
    return material


def _open_task(evaluator: Officer, task_id: int, now: datetime) -> EvaluationTask:
    task = task_for(evaluator, task_id)
    if task.submitted_at is not None:
        raise Conflict("该任务已提交,不能再修改")
    if now > task.scoring_due_at:
        raise Conflict("评查期限已过,请联系组织单位延期或改派")
    return task


@use_case
def record_finding(
    *, evaluator: Officer, task_id: int, criterion_id: int, evidence: str, note: str = "", now: datetime | None = None
) -> EvaluationFinding:
    """A problem found against one criterion of the plan's standard version, with the evidence it rests on; its
    points are the criterion's."""
    now = now or clock.now()
    task = _open_task(evaluator, task_id, now)
    criterion = db.session.get(EvaluationCriterion, criterion_id)
    if criterion is None or criterion.standard_id != task.plan.standard_id:
        raise InvalidInput("请选择本方案考评标准中的考评项")
    if any(f.criterion_id == criterion.id for f in task.findings):
        raise Conflict(f"考评项 {criterion.code} 已记录")
    evidence = clean(evidence, missing="请写明问题所依据的证据(材料、环节或记录)", limit=1000, what="依据")
    note = (note or "").strip()[:2000]
    finding = EvaluationFinding(
        task_id=task.id,
        plan_id=task.plan_id,
        unit_id=task.unit_id,
        criterion_id=criterion.id,
        points=criterion.points,
        evidence=evidence,
        note=note,
        state=FindingState.RECORDED.value,
        recorded_at=now,
    )
    db.session.add(finding)
    task.findings.append(finding)
    db.session.flush()
    audit.record(
        actor=evaluator,
        action="evaluation.finding_recorded",
        subject=finding,
        at=now,
        detail={"task": task.id, "criterion": criterion.code, "points": criterion.points, "evidence": evidence},
    )
    return finding


@use_case
def remove_finding(*, evaluator: Officer, task_id: int, finding_id: int, now: datetime | None = None) -> None:
    """Take back a finding before the task is submitted."""
    now = now or clock.now()
    task = _open_task(evaluator, task_id, now)
    finding = next((f for f in task.findings if f.id == finding_id), None)
    if finding is None:
        raise NotFound("未找到该问题")
    audit.record(
        actor=evaluator,
        action="evaluation.finding_removed",
        subject=finding,
        at=now,
        detail={"task": task.id, "criterion": finding.criterion.code},
    )
    task.findings.remove(finding)
    db.session.delete(finding)


@use_case
def submit(*, evaluator: Officer, task_id: int, now: datetime | None = None) -> EvaluationTask:
    """The evaluator is done: the findings go to the handling unit (which may appeal within the window)."""
    now = now or clock.now()
    task = _open_task(evaluator, task_id, now)
    task.submitted_at = now
    evaluation_clocks.stop_task(task, at=now, reason="submitted")
    audit.record(
        actor=evaluator,
        action="evaluation.task_submitted",
        subject=task,
        at=now,
        detail={"score": score(task.findings), "findings": [f.id for f in task.findings]},
    )
    publish(Event.EVALUATION_TASK_SUBMITTED, task_id=task.id)
    return task


def tasks_of_plan(plan: EvaluationPlan) -> list[EvaluationTask]:
    return list(
        db.session.scalars(select(EvaluationTask).where(EvaluationTask.plan_id == plan.id).order_by(EvaluationTask.id))
    )


def findings_of_plan(plan: EvaluationPlan, state: FindingState) -> list[EvaluationFinding]:
    return list(
        db.session.scalars(
            select(EvaluationFinding)
            .where(EvaluationFinding.plan_id == plan.id, EvaluationFinding.state == state.value)
            .order_by(EvaluationFinding.id)
        )
    )
