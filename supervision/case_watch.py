"""What the case file starts and stops: the clocks on compulsory measures' terms, on case property (storage, return
from examination), on a stage's required materials, and the findings (an extension without its approval, bail
renewed past its limit, a measure before filing, property left undisposed, the cause changed again and again).

Like `watch`, one small idempotent handler per event, each its own use case, reading moments from the records.
A finding whose condition lives in the data (an approval, a filing, a disposal) is resolved by the sweep only once
that condition is really gone (`CONDITIONS`), whatever the rectification answer says.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import exists, func, select

from casework import case_materials, case_property, measures
from casework.db import db
from casework.events import Event
from casework.models import (
    Case,
    CaseStage,
    CaseType,
    CauseChange,
    Material,
    Measure,
    MeasureStep,
    PropertyItem,
    PropertyMovement,
    PropertyState,
    TimelineEntry,
)
from casework.unit_of_work import use_case
from supervision import clocks, points
from supervision.models import DeadlineClock, SubjectType

TERM_POINTS = {
    "summons": points.MEASURE_SUMMONS_TERM,
    "detention": points.MEASURE_DETENTION_TERM,
    "arrest_request": points.MEASURE_ARREST_TERM,
    "bail": points.MEASURE_BAIL_TERM,
    "surveillance": points.MEASURE_SURVEILLANCE_TERM,
    "admin_detention": points.MEASURE_ADMIN_DETENTION_TERM,
}
MEASURE = SubjectType.MEASURE.value
PROPERTY = SubjectType.PROPERTY.value
CASE = SubjectType.CASE.value


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def _measure_clock(kind: str, measure: Measure, at: datetime, *, minutes: int | None = None, detail=None):
    return clocks.start(
        kind=kind,
        subject_type=MEASURE,
        subject_id=measure.id,
        number=measure.case.number,
        incident_id=measure.case_id,
        unit_id=measure.case.unit_id,
        officer_id=measure.officer_id,
        started_at=at,
        minutes=minutes,
        detail={"person": measure.person_name, "measure": measures.label(measure.kind), **(detail or {})},
    )


def _item_clock(kind: str, item: PropertyItem, at: datetime, *, minutes: int | None = None):
    return clocks.start(
        kind=kind,
        subject_type=PROPERTY,
        subject_id=item.id,
        number=item.case.number,
        incident_id=item.case_id,
        unit_id=item.case.unit_id,
        officer_id=item.holder_id,
        started_at=at,
        minutes=minutes,
        detail={"item": item.description},
    )


def _case_clock(kind: str, case: Case, at: datetime, *, detail=None):
    return clocks.start(
        kind=kind,
        subject_type=CASE,
        subject_id=case.id,
        number=case.number,
        incident_id=case.id,
        unit_id=case.unit_id,
        officer_id=case.lead_officer_id,
        started_at=at,
        category=case.incident.category,
        detail=detail,
    )


# The investigation clock runs from filing (立案) while a criminal case is filed or under investigation, and stops
# when the case moves on (transferred for prosecution, decided, concluded).
INVESTIGATION_RUNS = frozenset({CaseStage.FILED, CaseStage.INVESTIGATING})
INVESTIGATION_ENDS = frozenset({CaseStage.TRANSFERRED, CaseStage.DECIDED, CaseStage.CONCLUDED, CaseStage.NOT_FILED})


def _investigation_clock(case: Case, reached: CaseStage, at: datetime) -> None:
    if reached in INVESTIGATION_RUNS:
        # Started from the filing moment, once, and only while the case is still there (a job replayed after the
        # case moved on starts nothing); a case filed before this clock existed gets it when investigation begins.
        if case.type_enum is CaseType.CRIMINAL and case.filed_at is not None and case.stage_enum in INVESTIGATION_RUNS:
            _case_clock(points.INVESTIGATION_OVERDUE, case, case.filed_at)
    elif reached in INVESTIGATION_ENDS:
        clocks.stop(clocks.running(CASE, case.id, points.INVESTIGATION_OVERDUE), at=at, reason=reached.value)


@use_case
def measure_started(measure_id: int) -> None:
    """The term clock of a new measure; a measure the law does not allow before filing is a finding."""
    measure = db.session.get(Measure, measure_id)
    if measure is None or not measure.active:
        return
    _measure_clock(
        TERM_POINTS[measure.kind],
        measure,
        measure.started_at,
        minutes=_minutes(measure.started_at, measure.term_end_at),
    )
    if measure.before_filing and not measures.KINDS[measure.kind].before_filing:
        _measure_clock(points.MEASURE_BEFORE_FILING, measure, measure.started_at)


@use_case
def measure_extended(measure_id: int, step_id: int) -> None:
    """An extension re-arms the term clock from the extension's moment to the new end (the old clock stops, and
    the sweep resolves what it raised); one awaiting approval, or a renewal past the legal limit, is a finding."""
    measure = db.session.get(Measure, measure_id)
    step = db.session.get(MeasureStep, step_id)
    if measure is None or step is None:
        return
    kind = TERM_POINTS[measure.kind]
    if measure.active:
        running = clocks.running(MEASURE, measure.id, kind)
        if running is None or running.started_at < step.at:
            clocks.stop(running, at=step.at, reason="extended")
            _measure_clock(kind, measure, step.at, minutes=_minutes(step.at, step.term_end_at))
    if step.approved_by_id is None:
        _measure_clock(points.MEASURE_UNAPPROVED, measure, step.at, detail={"step_id": step.id})
    if measures.KINDS[measure.kind].extension == "renewal" and step.term_end_at > measure.legal_end_at:
        _measure_clock(
            points.MEASURE_BEYOND_LIMIT, measure, step.at, detail={"term_end_at": step.term_end_at.isoformat()}
        )


@use_case
def measure_approved(measure_id: int, step_id: int) -> None:
    measure = db.session.get(Measure, measure_id)
    if measure is not None and not _awaiting_approval(measure.id):
        step = db.session.get(MeasureStep, step_id)
        clocks.stop(
            clocks.running(MEASURE, measure.id, points.MEASURE_UNAPPROVED), at=step.approved_at, reason="approved"
        )


@use_case
def measure_ended(measure_id: int) -> None:
    """An ended (or changed) measure stops its term clock and its renewal finding."""
    measure = db.session.get(Measure, measure_id)
    if measure is None or measure.ended_at is None:
        return
    for kind in (TERM_POINTS[measure.kind], points.MEASURE_BEYOND_LIMIT):
        clocks.stop(clocks.running(MEASURE, measure.id, kind), at=measure.ended_at, reason=measure.state)


@use_case
def case_stage_changed(case_id: int, stage: str) -> None:
    """Filing starts a criminal case's investigation clock (stopped once the case moves on) and clears the
    before-filing findings; a stage reached without its materials starts their clock; a
    concluded case with property still in police hands is a finding."""
    case = db.session.get(Case, case_id)
    if case is None:
        return
    reached = CaseStage(stage)
    at = case.accepted_at if reached is CaseStage.ACCEPTED else _moment(case, reached)
    _investigation_clock(case, reached, at)
    if reached is CaseStage.FILED:
        for measure in measures.measures_of(case):
            clocks.stop(clocks.running(MEASURE, measure.id, points.MEASURE_BEFORE_FILING), at=at, reason="filed")
    if reached.value in case_materials.missing(case):
        _case_clock(points.MATERIALS_MISSING, case, at, detail={"missing": case_materials.missing(case)})
    if reached is CaseStage.CONCLUDED:
        left = case_property.undisposed(case)
        if left:
            _case_clock(points.PROPERTY_UNDISPOSED, case, at, detail={"items": len(left)})


def _moment(case: Case, stage: CaseStage) -> datetime:
    from_columns = {
        CaseStage.FILED: case.filed_at,
        CaseStage.NOT_FILED: case.not_filed_at,
        CaseStage.INVESTIGATING: case.investigating_at,
        CaseStage.TRANSFERRED: case.transferred_at,
        CaseStage.DECIDED: case.decided_at,
        CaseStage.CONCLUDED: case.concluded_at,
    }
    return from_columns[stage] or case.updated_at


@use_case
def material_added(material_id: int) -> None:
    material = db.session.get(Material, material_id)
    if material is not None and not case_materials.missing(material.case):
        running = clocks.running(CASE, material.case_id, points.MATERIALS_MISSING)
        clocks.stop(running, at=material.uploaded_at, reason="materials_added")


@use_case
def case_cause_changed(case_id: int, change_id: int) -> None:
    """A cause changed more than N times (反复修改案由) is one finding while it is open, not one per change."""
    case = db.session.get(Case, case_id)
    change = db.session.get(CauseChange, change_id)
    if case is None or change is None:
        return
    changes = db.session.scalar(
        select(func.count())
        .select_from(CauseChange)
        .where(
            CauseChange.case_id == case.id,
            CauseChange.from_code.is_not(None),  # the first cause is a choice, not a change
            CauseChange.to_code.is_not(None),  # a cause cleared by a change of type is the category's change
            CauseChange.id <= change.id,
        )
    )
    limit = int(points.point(points.CATEGORY_CHANGED_OFTEN).parameters.get("max_changes", 2))
    if changes > limit and clocks.running(CASE, case.id, points.CATEGORY_CHANGED_OFTEN) is None:
        _case_clock(points.CATEGORY_CHANGED_OFTEN, case, change.at, detail={"changes": changes})


@use_case
def case_type_changed(case_id: int, timeline_entry_id: int) -> None:
    """A case whose type changed at acceptance switches its stage clock: the filing review of a criminal case or
    the 30 days of a public-order case. The new procedure's period runs from the change (a case turned from
    criminal to administrative, 刑转行, or back, is handled under its new procedure from then on); the old clock
    stops, and the sweep resolves what it raised."""
    case = db.session.get(Case, case_id)
    entry = db.session.get(TimelineEntry, timeline_entry_id)
    if case is None or entry is None:
        return
    public_order = case.type_enum is CaseType.PUBLIC_ORDER
    wanted, other = (
        (points.CASE_OVERDUE, points.FILING_OVERDUE) if public_order else (points.FILING_OVERDUE, points.CASE_OVERDUE)
    )
    clocks.stop(clocks.running(CASE, case.id, other), at=entry.at, reason="type_changed")
    # The filing review waits only on a case still at acceptance; a public-order case's 30 days run to conclusion.
    runs = case.stage_enum is CaseStage.ACCEPTED or (public_order and case.stage_enum is not CaseStage.CONCLUDED)
    if runs and clocks.running(CASE, case.id, wanted) is None:
        clocks.start(
            kind=wanted,
            subject_type=CASE,
            subject_id=case.id,
            number=case.number,
            incident_id=case.id,
            unit_id=case.unit_id,
            officer_id=case.incident.assigned_officer_id,
            started_at=entry.at,
            category=case.incident.category,
            detail={"type_changed": True},
        )


def cause_changed_since(case_id: int, moment: datetime) -> bool:
    return bool(db.session.scalar(select(exists().where(CauseChange.case_id == case_id, CauseChange.at > moment))))


@use_case
def property_seized(item_id: int) -> None:
    item = db.session.get(PropertyItem, item_id)
    if item is not None and item.state == PropertyState.SEIZED.value:
        _item_clock(points.PROPERTY_NOT_STORED, item, item.seized_at)


@use_case
def property_moved(item_id: int, movement_id: int) -> None:
    """Storing stops the storage clock; taking out starts the return clock (to the return date), returning stops
    it; the last item settled clears a concluded case's undisposed finding."""
    item = db.session.get(PropertyItem, item_id)
    movement = db.session.get(PropertyMovement, movement_id)
    if item is None or movement is None:
        return
    if movement.kind != "handed_over":
        clocks.stop(clocks.running(PROPERTY, item.id, points.PROPERTY_NOT_STORED), at=movement.at, reason=movement.kind)
    if movement.kind == "taken_out":
        _item_clock(
            points.PROPERTY_OUT_OVERDUE, item, movement.at, minutes=_minutes(movement.at, movement.return_due_at)
        )
    elif movement.kind in ("returned", "transferred", "returned_to_owner"):
        running = clocks.running(PROPERTY, item.id, points.PROPERTY_OUT_OVERDUE)
        if running is not None and running.started_at <= movement.at:
            clocks.stop(running, at=movement.at, reason=movement.kind)
    if not case_property.undisposed(item.case):
        clocks.stop(clocks.running(CASE, item.case_id, points.PROPERTY_UNDISPOSED), at=movement.at, reason="settled")


def _awaiting_approval(measure_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    MeasureStep.measure_id == measure_id,
                    MeasureStep.kind == "extend",
                    MeasureStep.approved_by_id.is_(None),
                )
            )
        )
    )


def _measure_of(target: DeadlineClock) -> Measure | None:
    return db.session.get(Measure, target.subject_id)


# Findings whose condition lives in the data: point -> "is the problem gone?" (the sweep asks before raising).
CONDITIONS: dict[str, Callable[[DeadlineClock], bool]] = {
    points.MEASURE_UNAPPROVED: lambda t: not _awaiting_approval(t.subject_id),
    points.MEASURE_BEFORE_FILING: lambda t: db.session.get(Case, t.incident_id).filed_at is not None,
    points.MEASURE_BEYOND_LIMIT: lambda t: (m := _measure_of(t)) is None or not m.active,
    points.PROPERTY_UNDISPOSED: lambda t: not case_property.undisposed(db.session.get(Case, t.subject_id)),
    points.MATERIALS_MISSING: lambda t: not case_materials.missing(db.session.get(Case, t.subject_id)),
}


def _measure_holder(target: DeadlineClock) -> None:
    measure = _measure_of(target)
    if measure is not None:
        target.unit_id, target.officer_id = measure.case.unit_id, measure.officer_id


def _item_holder(target: DeadlineClock) -> None:
    item = db.session.get(PropertyItem, target.subject_id)
    if item is not None:
        target.unit_id, target.officer_id = item.case.unit_id, item.holder_id


HOLDERS: dict[str, Callable[[DeadlineClock], None]] = {MEASURE: _measure_holder, PROPERTY: _item_holder}

HANDLERS: dict[Event, tuple[str, object]] = {
    Event.MEASURE_STARTED: ("supervision.measure_started", measure_started),
    Event.MEASURE_EXTENDED: ("supervision.measure_extended", measure_extended),
    Event.MEASURE_APPROVED: ("supervision.measure_approved", measure_approved),
    Event.MEASURE_ENDED: ("supervision.measure_ended", measure_ended),
    Event.CASE_STAGE_CHANGED: ("supervision.case_stage_changed", case_stage_changed),
    Event.CASE_CAUSE_CHANGED: ("supervision.case_cause_changed", case_cause_changed),
    Event.CASE_TYPE_CHANGED: ("supervision.case_type_changed", case_type_changed),
    Event.MATERIAL_ADDED: ("supervision.material_added", material_added),
    Event.PROPERTY_SEIZED: ("supervision.property_seized", property_seized),
    Event.PROPERTY_MOVED: ("supervision.property_moved", property_moved),
}
