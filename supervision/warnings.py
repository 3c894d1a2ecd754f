"""Warnings: raising one (exactly once per clock, colour and occurrence), who is told, the officer's rectification
answer, and resolving them when the sweep finds their condition gone (自动判断是否整改到位).

Blue goes to the officer and the unit's legal officer; yellow is a rectification notice to the same people, with
its own due date; red is escalated to the supervisors of the unit above (and the unit's own supervisors).
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from casework import audit, clock, queue_marks
from casework.access import not_found, require_officer, scope_of
from casework.db import db
from casework.errors import Conflict
from casework.events import Event, publish
from casework.models import Officer, Role, System, Unit
from casework.text import clean
from casework.unit_of_work import use_case
from supervision import settings
from supervision.models import (
    Colour,
    DeadlineClock,
    MonitoringPoint,
    Notification,
    NotificationChannel,
    Warning,
)

SWEEP = System("supervision.sweep")
# Who a point's warnings go to, when the point names its own people rather than the unit's (e.g. an evaluation's
# organiser): called with the clock and the colour.
Recipients = Callable[[DeadlineClock, Colour], list[Officer]]


def raise_once(
    target: DeadlineClock,
    point: MonitoringPoint,
    colour: Colour,
    *,
    due_at: datetime,
    now: datetime,
    rectify_due_at: datetime | None = None,
    recipients: Recipients | None = None,
) -> Warning | None:
    """Raise one warning unless this clock already has it (for this occurrence); None when it existed.
    `recipients` chooses who is told instead of the unit's usual people.

    The unique (clock, colour, occurrence) is the lasting guard: a racing sweep's insert fails in its SAVEPOINT
    and is dropped, so nothing is raised twice whatever runs at once.
    """
    occurrence = target.occurrence
    already = db.session.scalar(
        select(
            exists().where(
                Warning.clock_id == target.id, Warning.colour == colour.value, Warning.occurrence == occurrence
            )
        )
    )
    if already:
        return None
    unit = db.session.get(Unit, target.unit_id) if target.unit_id else None
    warning = Warning(
        clock_id=target.id,
        point_id=point.id,
        colour=colour.value,
        occurrence=occurrence,
        subject_type=target.subject_type,
        subject_id=target.subject_id,
        subject_number=target.subject_number,
        incident_id=target.incident_id,
        unit_id=target.unit_id,
        officer_id=target.officer_id,
        escalated_to_unit_id=(unit.parent_id if unit is not None and colour is Colour.RED else None),
        raised_at=now,
        due_at=due_at,
        rectify_due_at=rectify_due_at,
    )
    if target.incident_id is not None:
        queue_marks.touch(target.unit_id)  # the live queue shows the incident's colour
    try:
        with db.session.begin_nested():
            db.session.add(warning)
            db.session.flush()
    except IntegrityError:
        return None  # another sweep raised it first
    audit.record(
        actor=SWEEP,
        action="warning.raised",
        subject=warning,
        at=now,
        detail={
            "colour": colour.value,
            "point": point.code,
            "subject": f"{target.subject_type}:{target.subject_number}",
            "due_at": due_at,
            "rectify_due_at": rectify_due_at,
        },
    )
    publish(Event.WARNING_RAISED, warning_id=warning.id)
    chosen = recipients(target, colour) if recipients else _recipients_once(unit, warning.officer_id, colour)
    _notify(warning, chosen, colour, now)
    return warning


def move_rectification(target: DeadlineClock, due_at: datetime) -> None:
    """The clock's rectification date moved (a holiday notice was loaded): its open yellow says the new date."""
    db.session.execute(
        update(Warning)
        .where(Warning.clock_id == target.id, Warning.colour == Colour.YELLOW.value, Warning.resolved_at.is_(None))
        .values(rectify_due_at=due_at)
    )


def recipients(unit: Unit | None, officer_id: int | None, colour: Colour) -> list[Officer]:
    """Who is told: the officer (else the unit's officers) and the unit's legal officer (the nearest one up the
    tree); for red, instead of the legal officer, the unit's own supervisors and those of the nearest unit above
    that has any (the escalation)."""
    chosen: dict[int, Officer] = {}
    if unit is None:
        return []
    if officer_id is not None:
        officer = db.session.get(Officer, officer_id)
        if officer is not None and officer.active:
            chosen[officer.id] = officer
    chain = [unit, *unit.ancestors()]
    if not chosen:
        for officer in _with_role(unit, Role.OFFICER):
            chosen[officer.id] = officer
    if colour is Colour.RED:
        for officer in _with_role(unit, Role.SUPERVISOR):
            chosen[officer.id] = officer
        for target in chain[1:]:  # escalated: the nearest unit above that has supervisors (督察)
            above = _with_role(target, Role.SUPERVISOR)
            if above:
                for officer in above:
                    chosen[officer.id] = officer
                break
    else:
        for target in chain:
            legal = _with_role(target, Role.LEGAL_OFFICER)
            if legal:
                for officer in legal:
                    chosen[officer.id] = officer
                break
    return [chosen[k] for k in sorted(chosen)]


def _with_role(unit: Unit, role: Role) -> list[Officer]:
    officers = db.session.scalars(
        select(Officer).where(Officer.unit_id == unit.id, Officer.active.is_(True)).order_by(Officer.id)
    )
    return [o for o in officers if role.value in (o.roles or [])]


RECIPIENTS_CACHE = "supervision.recipients"


def _recipients_once(unit: Unit | None, officer_id: int | None, colour: Colour) -> list[Officer]:
    """`recipients`, remembered for the rest of the transaction (a sweep raises many warnings for few units)."""
    cache = db.session.info.setdefault(RECIPIENTS_CACHE, {})
    key = (unit.id if unit else None, officer_id, colour)
    if key not in cache:
        cache[key] = recipients(unit, officer_id, colour)
    return cache[key]


def forget_recipients() -> None:
    db.session.info.pop(RECIPIENTS_CACHE, None)


def _notify(warning: Warning, chosen: list[Officer], colour: Colour, now: datetime) -> None:
    for officer in chosen:
        channels = [NotificationChannel.CONSOLE]
        if officer.wechat_openid and settings.get("SUPERVISION_WARNING_TEMPLATE_ID"):
            channels.append(NotificationChannel.WECHAT)
        if officer.phone and colour is not Colour.BLUE:
            channels.append(NotificationChannel.SMS)  # a text message only for what needs action
        for channel in channels:
            notification = Notification(
                warning_id=warning.id, officer_id=officer.id, channel=channel.value, created_at=now
            )
            db.session.add(notification)
            if channel is not NotificationChannel.CONSOLE:
                db.session.flush()  # its id goes into the event
                publish(Event.NOTIFICATION_DUE, notification_id=notification.id)


def open_warnings(target: DeadlineClock) -> list[Warning]:
    return list(
        db.session.scalars(
            select(Warning).where(Warning.clock_id == target.id, Warning.resolved_at.is_(None)).order_by(Warning.id)
        )
    )


def escalated(target: DeadlineClock, *, at: datetime) -> None:
    """The clock's red is raised: its blue and yellow are closed as escalated (the red carries the matter on)."""
    db.session.execute(
        update(Warning)
        .where(Warning.clock_id == target.id, Warning.resolved_at.is_(None), Warning.colour != Colour.RED.value)
        .values(resolved_at=at, resolution="escalated")
        .execution_options(synchronize_session="fetch")
    )


def resolve_open(target: DeadlineClock, *, at: datetime, resolution: str) -> int:
    """Resolve every open warning of a clock (its condition is gone, or its deadline moved); returns how many."""
    resolved = 0
    if target.incident_id is not None:
        queue_marks.touch(target.unit_id)
    for warning in open_warnings(target):
        warning.resolved_at = at
        warning.resolution = resolution
        audit.record(actor=SWEEP, action="warning.resolved", subject=warning, at=at, detail={"resolution": resolution})
        publish(Event.WARNING_RESOLVED, warning_id=warning.id)
        resolved += 1
    return resolved


RECTIFYING_ROLES = (Role.OFFICER, Role.DISPATCHER, Role.LEGAL_OFFICER, Role.SUPERVISOR)


@use_case
def rectify(*, warning: Warning, officer: Officer, text: str, now: datetime | None = None) -> Warning:
    """The officer answers a yellow (or red) warning with what was done; the sweep then checks the condition and
    resolves the warning only if it is really gone."""
    require_officer(officer, *RECTIFYING_ROLES)
    warning = warning_for(officer, warning.id)
    text = clean(text, missing="请填写整改情况", limit=2000, what="整改情况")
    warning = db.session.get(Warning, warning.id, with_for_update=True, populate_existing=True)
    if warning.resolved_at is not None:
        raise Conflict("该预警已解除")
    if warning.colour == Colour.BLUE.value:
        raise Conflict("蓝色预警为到期提醒,无需填写整改情况")
    now = now or clock.now()
    warning.rectification = text
    warning.rectified_at = now
    warning.rectified_by_id = officer.id
    target = db.session.get(DeadlineClock, warning.clock_id, with_for_update=True)
    if target.next_check_at is None or target.next_check_at > now:
        target.next_check_at = now  # the next sweep checks whether the problem is really gone
    audit.record(actor=officer, action="warning.rectified", subject=warning, at=now, detail={"length": len(text)})
    publish(Event.WARNING_RECTIFIED, warning_id=warning.id)
    return warning


def warning_for(officer: Officer, warning_id: int) -> Warning:
    """One warning for an officer: outside their scope it answers as a missing one."""
    require_officer(officer)
    warning = db.session.get(Warning, warning_id)
    if warning is None or not scope_of(officer).covers(warning.unit_id):
        raise not_found(Warning)
    return warning
