"""A case follows its incident: opened, exactly once, inside the use case that accepts the incident (受案), and
moved to filed / not filed / concluded inside the use case that moves the incident there.

Kept apart from `casework.cases` (the case's own use cases, which call `incidents.change_status`) so that
`incidents` can call it without the two importing each other.
"""

from datetime import datetime

from sqlalchemy import select

from casework import audit, causes, measures, numbering
from casework.db import db
from casework.errors import Conflict
from casework.events import Event, publish
from casework.models import Case, CaseStage, CaseType, Category, CauseChange, Incident, Measure, Officer, TimelineEntry
from casework.status import IncidentStatus

STAGE_COLUMNS = {
    CaseStage.FILED: "filed_at",
    CaseStage.NOT_FILED: "not_filed_at",
    CaseStage.INVESTIGATING: "investigating_at",
    CaseStage.TRANSFERRED: "transferred_at",
    CaseStage.DECIDED: "decided_at",
    CaseStage.CONCLUDED: "concluded_at",
}
FOLLOWED = {
    IncidentStatus.FILED: CaseStage.FILED,
    IncidentStatus.NOT_FILED: CaseStage.NOT_FILED,
    IncidentStatus.CONCLUDED: CaseStage.CONCLUDED,
}


def of(incident: Incident) -> Case | None:
    """The case of an incident, if it was accepted."""
    return db.session.get(Case, incident.id)


def follow(incident: Incident, status: IncidentStatus, *, actor: Officer, at: datetime, note: str | None) -> None:
    """Open the case when the incident is accepted; move it along when the incident is filed, not filed or
    concluded (in the caller's transaction; the caller holds the incident's row lock)."""
    if status is IncidentStatus.ACCEPTED:
        _open(incident, actor=actor, at=at)
        return
    stage = FOLLOWED.get(status)
    case = of(incident)
    if stage is None or case is None:
        return
    before = case.stage
    enter(case, stage, at=at)
    if stage is CaseStage.NOT_FILED:
        case.not_filed_reason = (note or "").strip() or case.not_filed_reason
    audit.record(
        actor=actor,
        action="case.stage_changed",
        subject=case,
        at=at,
        detail={
            "from": before,
            "to": stage.value,
            "reason": case.not_filed_reason if stage is CaseStage.NOT_FILED else None,
        },
    )
    publish(Event.CASE_STAGE_CHANGED, case_id=case.id, stage=stage.value)


def enter(case: Case, stage: CaseStage, *, at: datetime) -> None:
    """Set a case's stage and the moment it reached it."""
    case.stage = stage.value
    case.updated_at = at
    setattr(case, STAGE_COLUMNS[stage], at)


def type_for(category: Category | None) -> CaseType | None:
    """The case type a category implies (None: the category says nothing, e.g. a 求助 or an unclassified one)."""
    if category is None or category.case_type is None:
        return None
    return CaseType(category.case_type)


def follow_category(
    incident: Incident, category: Category, *, actor: Officer, at: datetime, reason: str
) -> Case | None:
    """After an accepted incident is recategorised, its case takes the type the new category implies (in the
    caller's transaction, under its lock on the incident); returns the case if its type changed.

    Only a case still at acceptance changes type: once the filing decision is taken the procedure is chosen, and
    an attempt is refused (the whole recategorisation with it). A compulsory measure in force that the new type
    does not allow (a criminal detention on a public-order case) refuses it too. A cause of the old type cannot
    describe the new case: it is cleared, in the cause history, and the officer chooses one of the new type."""
    case = of(incident)
    new_type = type_for(category)
    if case is None or new_type is None or new_type.value == case.case_type:
        return None
    old_type = case.type_enum
    if case.stage_enum is not CaseStage.ACCEPTED:
        where = "进入侦查(调查)阶段" if case.stage_enum is CaseStage.INVESTIGATING else case.stage_enum.label
        raise Conflict(
            f"案件已{where},不能再由{old_type.label}改为{new_type.label};请选择属于{old_type.label}的警情类别"
        )
    unfit = [
        measures.label(m.kind)
        for m in db.session.scalars(select(Measure).where(Measure.case_id == case.id).order_by(Measure.id))
        if m.active and new_type not in measures.KINDS[m.kind].case_types
    ]
    if unfit:
        raise Conflict(
            f"案件正在执行{'、'.join(unfit)},{new_type.label}不能采取,请先解除或变更强制措施后再调整警情类别"
        )
    cleared = case.cause_code
    change = None
    if cleared is not None:
        change = CauseChange(
            case_id=case.id,
            at=at,
            from_code=cleared,
            to_code=None,
            reason=f"警情类别调整为「{category.name}」,案件类型改为{new_type.label},原案由不再适用:{reason}",
            officer_id=actor.id,
        )
        db.session.add(change)
        case.cause_code = None
    case.case_type = new_type.value
    case.updated_at = at
    note = f"案件类型由{old_type.label}改为{new_type.label}(警情类别调整为「{category.name}」:{reason})"
    if cleared is not None:
        note += f";原案由「{causes.name(cleared)}」已清除,请重新确定{new_type.label}案由"
    entry = TimelineEntry(
        incident_id=case.id, at=at, kind="case_type", internal_note=note, actor_kind=actor.kind, actor_id=actor.id
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(
        actor=actor,
        action="case.type_changed",
        subject=case,
        at=at,
        detail={
            "from": old_type.value,
            "to": new_type.value,
            "category": category.code,
            "reason": reason,
            "cause_cleared": cleared,
        },
    )
    publish(Event.CASE_TYPE_CHANGED, case_id=case.id, timeline_entry_id=entry.id)
    if change is not None:
        publish(Event.CASE_CAUSE_CHANGED, case_id=case.id, change_id=change.id)
    return case


def _open(incident: Incident, *, actor: Officer, at: datetime) -> Case:
    existing = of(incident)
    if existing is not None:
        return existing
    public_order = incident.category is not None and incident.category.case_type == CaseType.PUBLIC_ORDER.value
    case = Case(
        id=incident.id,
        number=numbering.next_number("AJ", at),
        case_type=(CaseType.PUBLIC_ORDER if public_order else CaseType.CRIMINAL).value,
        stage=CaseStage.ACCEPTED.value,
        unit_id=incident.unit_id,
        lead_officer_id=incident.assigned_officer_id or actor.id,
        accepted_at=at,
        updated_at=at,
    )
    db.session.add(case)
    db.session.flush()
    audit.record(
        actor=actor,
        action="case.opened",
        subject=case,
        at=at,
        detail={"number": case.number, "incident": incident.number, "type": case.case_type},
    )
    publish(Event.CASE_OPENED, case_id=case.id)
    return case
