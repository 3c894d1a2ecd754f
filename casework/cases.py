"""Use cases on a case (案件): its cause with every change and its reason, its officers, its stages, and what an
officer may see of it (their unit's cases only; another unit's case answers as a missing one).

The stages the incident also shows (filed / not filed, concluded) go through `incidents.change_status`, so the
incident, its public timeline and the case move together in one transaction; the case's own stages
(investigation, transfer for prosecution, an administrative decision) write their public note to the incident's
timeline here. The citizen reads the public notes; the internal ones stay inside.
"""

from datetime import datetime

from sqlalchemy import select

from casework import audit, case_file, causes, clock, incidents, notes, text
from casework.access import not_found, require_officer, require_visible, visible_units_clause
from casework.db import db
from casework.errors import Conflict, IllegalTransition, InvalidInput
from casework.events import Event, publish
from casework.models import Case, CaseStage, CaseType, CauseChange, Officer, Role, TimelineEntry
from casework.status import IncidentStatus
from casework.unit_of_work import use_case

CASE_ROLES = (Role.OFFICER, Role.LEGAL_OFFICER)
C = CaseStage

# The case's own steps after the filing decision: stage -> the stages it may come from.
OWN_STEPS: dict[CaseStage, frozenset[CaseStage]] = {
    C.INVESTIGATING: frozenset({C.FILED}),
    C.TRANSFERRED: frozenset({C.INVESTIGATING}),
    C.DECIDED: frozenset({C.INVESTIGATING, C.FILED}),
}
CONCLUDABLE = frozenset({C.NOT_FILED, C.TRANSFERRED, C.DECIDED})


def case_for(officer: Officer, case_id: int) -> Case:
    """One case for an officer: outside their scope (or missing) it answers 未找到该案件."""
    require_officer(officer)
    case = db.session.get(Case, case_id)
    if case is None:
        raise not_found(Case)
    require_visible(officer, case)
    return case


def cases_for(officer: Officer, *, limit: int = 100) -> list[Case]:
    """The cases of the officer's scope, the most recently changed first."""
    require_officer(officer)
    return list(
        db.session.scalars(
            select(Case)
            .where(visible_units_clause(officer, Case.unit_id))
            .order_by(Case.updated_at.desc(), Case.id.desc())
            .limit(limit)
        )
    )


@use_case
def view(*, officer: Officer, case_id: int, what: str = "case", now: datetime | None = None) -> Case:
    """The case an officer opens (its page, measures, property, materials or property list), audited."""
    case = case_for(officer, case_id)
    audit.record(actor=officer, action="case.viewed", subject=case, at=now or clock.now(), detail={"what": what})
    return case


def history(case: Case) -> list[CauseChange]:
    return list(db.session.scalars(select(CauseChange).where(CauseChange.case_id == case.id).order_by(CauseChange.id)))


def _locked(case: Case, officer: Officer) -> Case:
    locked = db.session.get(Case, case.id, with_for_update=True, populate_existing=True)
    if locked is None:
        raise not_found(Case)
    require_visible(officer, locked)
    return locked


@use_case
def change_cause(
    *, case: Case, actor: Officer, cause_code: str, reason: str, now: datetime | None = None
) -> CauseChange:
    """Give the case its cause (案由) or change it; every change is kept with its reason (the supervision counts
    them: 反复修改案由)."""
    require_officer(actor, *CASE_ROLES)
    case = _locked(case, actor)
    cause = causes.checked(cause_code, case.case_type)
    reason = text.clean(reason, missing="请说明确定或修改案由的原因", limit=500, what="原因")
    if case.cause_code == cause.code:
        raise Conflict("案由未变化")
    if case.stage == C.CONCLUDED.value:
        raise Conflict("案件已办结,不能修改案由")
    now = now or clock.now()
    change = CauseChange(
        case_id=case.id, at=now, from_code=case.cause_code, to_code=cause.code, reason=reason, officer_id=actor.id
    )
    db.session.add(change)
    before = case.cause_code
    case.cause_code = cause.code
    case.updated_at = now
    db.session.add(
        TimelineEntry(
            incident_id=case.id,
            at=now,
            kind="case_cause",
            internal_note=f"案由由 {causes.name(before)} 改为 {cause.name}:{reason}",
            actor_kind=actor.kind,
            actor_id=actor.id,
        )
    )
    db.session.flush()
    audit.record(
        actor=actor,
        action="case.cause_changed",
        subject=case,
        at=now,
        detail={"from": before, "to": cause.code, "reason": reason, "change_id": change.id},
    )
    publish(Event.CASE_CAUSE_CHANGED, case_id=case.id, change_id=change.id)
    return change


@use_case
def assign(
    *, case: Case, actor: Officer, lead: Officer, second: Officer | None = None, now: datetime | None = None
) -> Case:
    """Name the case's officers (主办、协办): officers of the case's scope."""
    require_officer(actor, *CASE_ROLES)
    case = _locked(case, actor)
    for chosen in (lead, second):
        if chosen is not None:
            require_officer(chosen, Role.OFFICER, Role.LEGAL_OFFICER)
            if chosen.unit_id != case.unit_id and not _above(chosen, case):
                raise InvalidInput("办案民警须为办案单位民警")
    if second is not None and second.id == lead.id:
        raise InvalidInput("主办、协办民警不能为同一人")
    now = now or clock.now()
    before = (case.lead_officer_id, case.second_officer_id)
    case.lead_officer_id, case.second_officer_id = lead.id, second.id if second else None
    case.updated_at = now
    audit.record(
        actor=actor,
        action="case.assigned",
        subject=case,
        at=now,
        detail={"before": list(before), "lead": lead.id, "second": second.id if second else None},
    )
    return case


def _above(officer: Officer, case: Case) -> bool:
    unit = case.unit
    return unit is not None and officer.unit_id in {u.id for u in unit.ancestors()}


@use_case
def decide_filing(
    *,
    case: Case,
    actor: Officer,
    filed: bool,
    reason: str | None = None,
    public_note: str | None = None,
    now: datetime | None = None,
) -> Case:
    """The filing decision: filed (立案), or not filed (不予立案) with its reason (told to the reporter)."""
    require_officer(actor, *CASE_ROLES)
    case = _locked(case, actor)
    if filed:
        note = (reason or "").strip() or None
    else:
        note = text.clean(reason, missing="请填写不予立案的理由", limit=500, what="理由")
    status = IncidentStatus.FILED if filed else IncidentStatus.NOT_FILED
    incidents.change_status(
        incident=case.incident, actor=actor, status=status, public_note=public_note, internal_note=note, now=now
    )
    return case


@use_case
def advance(
    *,
    case: Case,
    actor: Officer,
    stage: CaseStage,
    public_note: str | None = None,
    internal_note: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Move a case to one of its own stages (investigation, transfer for prosecution, administrative decision)."""
    require_officer(actor, *CASE_ROLES)
    case = _locked(case, actor)
    stage = CaseStage(stage)
    allowed = OWN_STEPS.get(stage)
    if allowed is None:
        raise InvalidInput("该阶段须通过立案决定或办结办理")
    if case.stage_enum not in allowed:
        raise IllegalTransition(
            f"案件不能从「{case.stage_enum.label}」进入「{stage.label}」", current=case.stage, target=stage.value
        )
    if stage is C.TRANSFERRED and case.type_enum is not CaseType.CRIMINAL:
        raise InvalidInput("治安案件不移送审查起诉,请选择作出行政处理决定")
    now = now or clock.now()
    before = case.stage
    case_file.enter(case, stage, at=now)
    extra = (public_note or "").strip()
    db.session.add(
        TimelineEntry(
            incident_id=case.id,
            at=now,
            kind="case_stage",
            public_note=f"{stage.label}:{extra}" if extra else notes.CASE_STAGE[stage.value],
            internal_note=(internal_note or "").strip() or None,
            actor_kind=actor.kind,
            actor_id=actor.id,
        )
    )
    audit.record(
        actor=actor, action="case.stage_changed", subject=case, at=now, detail={"from": before, "to": stage.value}
    )
    publish(Event.CASE_STAGE_CHANGED, case_id=case.id, stage=stage.value)
    return case


@use_case
def conclude(
    *, case: Case, actor: Officer, public_note: str | None = None, internal_note: str | None = None, now=None
) -> Case:
    """Conclude the case (办结) once it is not filed, transferred for prosecution or decided."""
    require_officer(actor, *CASE_ROLES)
    case = _locked(case, actor)
    if case.stage_enum not in CONCLUDABLE:
        raise IllegalTransition(
            f"案件在「{case.stage_enum.label}」阶段不能办结", current=case.stage, target=C.CONCLUDED.value
        )
    incidents.change_status(
        incident=case.incident,
        actor=actor,
        status=IncidentStatus.CONCLUDED,
        public_note=public_note,
        internal_note=internal_note,
        now=now,
    )
    return case


def stages(case: Case) -> list[tuple[CaseStage, datetime]]:
    """The stages the case went through, each with its moment, in order."""
    reached = [(C.ACCEPTED, case.accepted_at)]
    for stage, column in case_file.STAGE_COLUMNS.items():
        moment = getattr(case, column)
        if moment is not None:
            reached.append((stage, moment))
    return sorted(reached, key=lambda pair: pair[1])
