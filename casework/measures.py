"""Compulsory measures (强制措施) as data: each kind with its legal term (a configurable default), how it may be
extended, and whether it may come before the case is filed; and the use cases that start, extend, approve,
change and end one, each recorded with the approving officer and the document, audited, with its event.

The law's limits are enforced where the law is plain (a detention extended past its maximum is refused); what the
supervision must see is recorded and left to it: an extension whose approval is still to come, bail renewed past
its limit, a measure taken before the case was filed where that is not allowed.
"""

import calendar as month_days
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from casework import audit, clock, settings, text
from casework.access import can_see, not_found, require_officer, require_visible
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.events import Event, publish
from casework.models import Case, CaseStage, CaseType, Measure, MeasureState, MeasureStep, Officer, Role
from casework.unit_of_work import use_case

APPROVING_ROLES = (Role.LEGAL_OFFICER, Role.SUPERVISOR)
MEASURE_ROLES = (Role.OFFICER, Role.LEGAL_OFFICER)


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock moment `months` later (the last day of a shorter month)."""
    local = clock.local(moment)
    month = local.month - 1 + months
    year, month = local.year + month // 12, month % 12 + 1
    day = min(local.day, month_days.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(moment.tzinfo)


def _hours(name: str) -> Callable[[datetime], datetime]:
    return lambda start: start + timedelta(hours=int(settings.get(name)))


def _days(name: str) -> Callable[[datetime], datetime]:
    return lambda start: start + timedelta(days=int(settings.get(name)))


def _months(name: str) -> Callable[[datetime], datetime]:
    return lambda start: add_months(start, int(settings.get(name)))


@dataclass(frozen=True)
class MeasureKind:
    code: str
    label: str
    case_types: tuple[CaseType, ...]
    term: Callable[[datetime], datetime]  # the end of the term as started
    before_filing: bool  # may be taken while the case is not yet filed
    extension: str | None  # "approval": extended only with approval, within the legal maximum; "renewal"
    legal_max: Callable[[datetime, bool], datetime] | None = None  # (start, serious) -> the furthest end
    hours_based: bool = False


def _detention_max(start: datetime, serious: bool) -> datetime:
    name = "CASE_DETENTION_SERIOUS_MAX_DAYS" if serious else "CASE_DETENTION_MAX_DAYS"
    return start + timedelta(days=int(settings.get(name)))


KINDS: dict[str, MeasureKind] = {
    k.code: k
    for k in (
        MeasureKind(
            "summons",
            "传唤(拘传)",
            (CaseType.CRIMINAL, CaseType.PUBLIC_ORDER),
            _hours("CASE_SUMMONS_HOURS"),
            before_filing=True,
            extension="approval",
            legal_max=lambda start, _serious: _hours("CASE_SUMMONS_MAX_HOURS")(start),
            hours_based=True,
        ),
        MeasureKind(
            "detention",
            "刑事拘留",
            (CaseType.CRIMINAL,),
            _days("CASE_DETENTION_DAYS"),
            before_filing=True,  # 先行拘留 in an emergency
            extension="approval",
            legal_max=_detention_max,
        ),
        MeasureKind(
            "arrest_request",
            "提请批准逮捕",
            (CaseType.CRIMINAL,),
            _days("CASE_ARREST_REVIEW_DAYS"),
            before_filing=False,
            extension=None,
        ),
        MeasureKind(
            "bail",
            "取保候审",
            (CaseType.CRIMINAL,),
            _months("CASE_BAIL_MONTHS"),
            before_filing=False,
            extension="renewal",
            legal_max=lambda start, _serious: _months("CASE_BAIL_MONTHS")(start),
        ),
        MeasureKind(
            "surveillance",
            "监视居住",
            (CaseType.CRIMINAL,),
            _months("CASE_SURVEILLANCE_MONTHS"),
            before_filing=False,
            extension="renewal",
            legal_max=lambda start, _serious: _months("CASE_SURVEILLANCE_MONTHS")(start),
        ),
        MeasureKind(
            "admin_detention",
            "行政拘留",
            (CaseType.PUBLIC_ORDER,),
            _days("CASE_ADMIN_DETENTION_DAYS"),
            before_filing=True,
            extension=None,
        ),
    )
}


def kind_of(code: str) -> MeasureKind:
    kind = KINDS.get(code)
    if kind is None:
        raise InvalidInput("强制措施种类无效")
    return kind


def label(code: str) -> str:
    return KINDS[code].label if code in KINDS else code


def measures_of(case: Case) -> list[Measure]:
    return list(db.session.scalars(select(Measure).where(Measure.case_id == case.id).order_by(Measure.id)))


def measure_for(officer: Officer, measure_id: int) -> Measure:
    """One measure for an officer; another unit's answers as a missing record."""
    require_officer(officer)
    measure = db.session.get(Measure, measure_id)
    if measure is None:
        raise not_found(Measure)
    require_visible(officer, measure)
    return measure


def _approver(approved_by: Officer | None, actor: Officer, case: Case) -> Officer:
    """A legal officer or supervisor other than the acting officer, whose scope covers the case."""
    if approved_by is None:
        raise InvalidInput("请选择审批人")
    require_officer(approved_by, *APPROVING_ROLES)
    if approved_by.id == actor.id:
        raise InvalidInput("审批人不能是经办人本人")
    if not can_see(approved_by, case):
        raise InvalidInput("审批人须为本案有管辖权的法制员或督察")
    return approved_by


def _document(value: str | None) -> str:
    return text.clean(value, missing="请填写法律文书文号", limit=64, what="文书文号")


def _step(measure: Measure, kind: str, actor: Officer, at: datetime, **fields) -> MeasureStep:
    step = MeasureStep(measure=measure, kind=kind, at=at, officer_id=actor.id, **fields)
    db.session.add(step)
    db.session.flush()
    return step


@use_case
def start(
    *,
    case: Case,
    actor: Officer,
    kind: str,
    person_name: str,
    approved_by: Officer,
    document_ref: str,
    serious: bool = False,
    now: datetime | None = None,
) -> Measure:
    """Start a measure on a person of the case, with its approval and document; the term is the kind's default."""
    require_officer(actor, *MEASURE_ROLES)
    case = db.session.get(Case, case.id, with_for_update=True, populate_existing=True)
    require_visible(actor, case)
    chosen = kind_of(kind)
    if case.type_enum not in chosen.case_types:
        raise InvalidInput(f"{case.type_enum.label}不适用{chosen.label}")
    if case.stage_enum in (CaseStage.CONCLUDED, CaseStage.NOT_FILED):
        raise Conflict("案件已办结或不予立案,不能采取强制措施")
    person_name = text.clean(person_name, missing="请填写被采取措施人姓名", limit=64, what="姓名")
    approver = _approver(approved_by, actor, case)
    document = _document(document_ref)
    now = now or clock.now()
    measure = _open(case, chosen, actor, person_name, approver, document, bool(serious), now)
    return measure


def _open(case, chosen, actor, person_name, approver, document, serious, now) -> Measure:
    term_end = chosen.term(now)
    measure = Measure(
        case_id=case.id,
        kind=chosen.code,
        person_name=person_name,
        serious=serious,
        state=MeasureState.ACTIVE.value,
        started_at=now,
        term_end_at=term_end,
        legal_end_at=chosen.legal_max(now, serious) if chosen.legal_max else term_end,
        officer_id=actor.id,
        approved_by_id=approver.id,
        document_ref=document,
        before_filing=case.stage == CaseStage.ACCEPTED.value,
    )
    db.session.add(measure)
    db.session.flush()
    _step(
        measure,
        "start",
        actor,
        now,
        approved_by_id=approver.id,
        approved_at=now,
        document_ref=document,
        term_end_at=term_end,
    )
    audit.record(
        actor=actor,
        action="measure.started",
        subject=measure,
        at=now,
        detail={
            "case": case.number,
            "kind": chosen.code,
            "approved_by": approver.id,
            "document": document,
            "term_end_at": term_end,
            "before_filing": measure.before_filing,
        },
    )
    publish(Event.MEASURE_STARTED, measure_id=measure.id)
    return measure


def _locked(measure: Measure, actor: Officer) -> Measure:
    locked = db.session.get(Measure, measure.id, with_for_update=True, populate_existing=True)
    require_visible(actor, locked)
    if locked.state != MeasureState.ACTIVE.value:
        raise Conflict("该强制措施已解除或变更")
    return locked


@use_case
def extend(
    *,
    measure: Measure,
    actor: Officer,
    days: int | None = None,
    hours: int | None = None,
    approved_by: Officer | None = None,
    document_ref: str | None = None,
    reason: str,
    now: datetime | None = None,
) -> MeasureStep:
    """Extend (or, for bail and surveillance, renew) a measure's term. Without an approver yet the extension is
    recorded as awaiting approval (the supervision flags it until `approve`)."""
    require_officer(actor, *MEASURE_ROLES)
    measure = _locked(measure, actor)
    chosen = kind_of(measure.kind)
    if chosen.extension is None:
        raise Conflict(f"{chosen.label}不能延长")
    reason = text.clean(reason, missing="请填写延长理由", limit=500, what="理由")
    amount = hours if chosen.hours_based else days
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidInput("请填写延长的小时数" if chosen.hours_based else "请填写延长的天数")
    delta = timedelta(hours=amount) if chosen.hours_based else timedelta(days=amount)
    if chosen.code == "detention" and not measure.serious:
        limit = int(settings.get("CASE_DETENTION_EXTENSION_MAX_DAYS"))
        if amount > limit:
            raise InvalidInput(f"刑事拘留每次延长1至{limit}日")
    new_end = measure.term_end_at + delta
    if chosen.extension == "approval" and new_end > measure.legal_end_at:
        raise InvalidInput(f"延长后超过{chosen.label}的法定最长期限")
    approver = _approver(approved_by, actor, measure.case) if approved_by is not None else None
    document = _document(document_ref) if approver is not None or document_ref else None
    now = now or clock.now()
    before = measure.term_end_at
    measure.term_end_at = new_end
    step = _step(
        measure,
        "extend",
        actor,
        now,
        approved_by_id=approver.id if approver else None,
        approved_at=now if approver else None,
        document_ref=document,
        minutes=int(delta.total_seconds() // 60),
        term_end_at=new_end,
        note=reason,
    )
    audit.record(
        actor=actor,
        action="measure.extended",
        subject=measure,
        at=now,
        detail={
            "step_id": step.id,
            "from": before,
            "to": new_end,
            "approved_by": approver.id if approver else None,
            "document": document,
            "reason": reason,
            "beyond_limit": new_end > measure.legal_end_at,
        },
    )
    publish(Event.MEASURE_EXTENDED, measure_id=measure.id, step_id=step.id)
    return step


@use_case
def approve(*, step: MeasureStep, approver: Officer, document_ref: str, now: datetime | None = None) -> MeasureStep:
    """The approval of an extension recorded without one."""
    require_officer(approver, *APPROVING_ROLES)
    step = db.session.get(MeasureStep, step.id, with_for_update=True, populate_existing=True)
    if step is None:
        raise not_found(MeasureStep)
    require_visible(approver, step.measure)
    if step.kind != "extend" or step.approved_by_id is not None:
        raise Conflict("该延长已审批")
    if step.officer_id == approver.id:
        raise InvalidInput("审批人不能是经办人本人")
    now = now or clock.now()
    step.approved_by_id, step.approved_at, step.document_ref = approver.id, now, _document(document_ref)
    audit.record(
        actor=approver,
        action="measure.approved",
        subject=step.measure,
        at=now,
        detail={"step_id": step.id, "document": step.document_ref},
    )
    publish(Event.MEASURE_APPROVED, measure_id=step.measure_id, step_id=step.id)
    return step


@use_case
def end(
    *,
    measure: Measure,
    actor: Officer,
    reason: str,
    approved_by: Officer,
    document_ref: str,
    now: datetime | None = None,
) -> Measure:
    """End a measure (释放、解除), with its approval and document."""
    require_officer(actor, *MEASURE_ROLES)
    measure = _locked(measure, actor)
    reason = text.clean(reason, missing="请填写解除理由", limit=500, what="理由")
    approver = _approver(approved_by, actor, measure.case)
    document = _document(document_ref)
    now = now or clock.now()
    _close(measure, MeasureState.ENDED, actor, approver, document, reason, now)
    return measure


def _close(measure, state, actor, approver, document, note, now, replaced_by: Measure | None = None) -> None:
    measure.state = state.value
    measure.ended_at = now
    measure.replaced_by_id = replaced_by.id if replaced_by else None
    step = _step(
        measure,
        "change" if replaced_by else "end",
        actor,
        now,
        approved_by_id=approver.id,
        approved_at=now,
        document_ref=document,
        note=note,
    )
    audit.record(
        actor=actor,
        action="measure.changed" if replaced_by else "measure.ended",
        subject=measure,
        at=now,
        detail={
            "step_id": step.id,
            "approved_by": approver.id,
            "document": document,
            "reason": note,
            "replaced_by": replaced_by.id if replaced_by else None,
        },
    )
    publish(Event.MEASURE_ENDED, measure_id=measure.id)


@use_case
def change(
    *,
    measure: Measure,
    actor: Officer,
    to_kind: str,
    approved_by: Officer,
    document_ref: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Measure:
    """Change a measure into another (detention -> request for arrest, detention -> bail...): the old one ends as
    changed and the new one starts, with the same approval and document."""
    require_officer(actor, *MEASURE_ROLES)
    measure = _locked(measure, actor)
    chosen = kind_of(to_kind)
    if chosen.code == measure.kind:
        raise InvalidInput("变更后的措施与原措施相同")
    case = measure.case
    if case.type_enum not in chosen.case_types:
        raise InvalidInput(f"{case.type_enum.label}不适用{chosen.label}")
    approver = _approver(approved_by, actor, case)
    document = _document(document_ref)
    note = (reason or "").strip()[:500] or None
    now = now or clock.now()
    new = _open(case, chosen, actor, measure.person_name, approver, document, measure.serious, now)
    _close(measure, MeasureState.CHANGED, actor, approver, document, note, now, replaced_by=new)
    return new
