"""Deadline clocks: started and stopped by what happens to an incident, case or complaint, extended on approval.

A clock's deadline comes from its monitoring point (window and blue share), overridden per category where the
point names a `category_key`. A working-day deadline that reaches a year with no official holiday data is counted
on that year's statutory holidays and marked `provisional` (「暂定」) until an operator loads the year's notice,
which counts it again (`recount`).
"""

from datetime import datetime

from sqlalchemy import or_, select

from casework import audit, clock, per_transaction
from casework.access import not_found, require_officer, scope_of
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.events import Event, publish
from casework.models import Category, Officer, Role, System
from casework.text import clean
from casework.unit_of_work import use_case
from supervision import calendar, points, warnings
from supervision.models import DeadlineClock, MonitoringPoint

SUPERVISION = System("supervision")


def running(subject_type: str, subject_id: int, kind: str) -> DeadlineClock | None:
    """The running clock of `kind` on a subject, if any."""
    return db.session.scalar(
        select(DeadlineClock).where(
            DeadlineClock.subject_type == subject_type,
            DeadlineClock.subject_id == subject_id,
            DeadlineClock.kind == kind,
            DeadlineClock.stopped_at.is_(None),
        )
    )


def start(
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    number: str,
    started_at: datetime,
    unit_id: int | None = None,
    officer_id: int | None = None,
    incident_id: int | None = None,
    category: Category | None = None,
    days: int | None = None,
    working: bool | None = None,
    minutes: int | None = None,
    detail: dict | None = None,
) -> DeadlineClock | None:
    """Start a clock of `kind` on a subject (in the caller's transaction); a clock already started for this
    subject and moment (a job run twice) or already running is left as it is and returned. `days` (counted as
    `working` says, else as the point says) or `minutes` override the point's window (a measure's term, a return
    date, a complaint's answer window: the window belongs to the subject)."""
    if per_transaction.ours(subject_type, subject_id):
        # A subject this transaction created carries only the clocks this transaction started (noted below).
        found = [
            c
            for c in per_transaction.created_rows(DeadlineClock)
            if (c.subject_type, c.subject_id, c.kind) == (subject_type, subject_id, kind)
            and (c.stopped_at is None or c.started_at == started_at)
        ]
    else:
        # One read answers both questions: a running clock of this kind, else one started at this moment.
        found = db.session.scalars(
            select(DeadlineClock).where(
                DeadlineClock.subject_type == subject_type,
                DeadlineClock.subject_id == subject_id,
                DeadlineClock.kind == kind,
                or_(DeadlineClock.stopped_at.is_(None), DeadlineClock.started_at == started_at),
            )
        ).all()
    existing = next((c for c in found if c.stopped_at is None), None) or next(iter(found), None)
    if existing is not None:
        return existing
    point = points.point(kind)
    new = DeadlineClock(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_number=number,
        incident_id=incident_id,
        unit_id=unit_id,
        officer_id=officer_id,
        started_at=started_at,
        detail=detail or {},
        extended_count=0,
        deadline_moves=0,
        provisional=False,
    )
    override = days
    key = point.parameters.get("category_key")
    if override is None and key and category is not None:
        override = (category.deadlines or {}).get(key)
        if override is None and category.parent is not None:
            override = (category.parent.deadlines or {}).get(key)
    span = points.window(point.parameters, days_override=override)
    if span is not None and working is not None and span.days is not None:
        span = points.Window(days=span.days, working=working)
    if minutes is not None:
        span = points.Window(minutes=max(1, int(minutes)))
    if point.rule == "finding" or span is None:
        new.due_at = started_at  # a finding is due the moment it is found
    else:
        new.window_days, new.working_days = span.days, span.working
        new.window_minutes = span.minutes
    _arm(new, point)
    db.session.add(new)
    db.session.flush()
    per_transaction.created(new)
    audit.record(
        actor=SUPERVISION,
        action="clock.started",
        subject=new,
        at=started_at,
        detail={
            "kind": kind,
            "subject": f"{subject_type}:{subject_id}",
            "due_at": new.due_at,
            "provisional": new.provisional,
        },
    )
    return new


def _arm(target: DeadlineClock, point: MonitoringPoint) -> None:
    """Compute the deadline (the window from the start, plus approved extensions) and the blue moment."""
    target.provisional = False  # until a count below goes through a provisional year
    if (target.detail or {}).get("rectify_provisional"):
        target.detail = {k: v for k, v in target.detail.items() if k != "rectify_provisional"}
    if point.rule != "finding" and (target.window_days is not None or target.window_minutes is not None):
        span = points.Window(days=target.window_days, minutes=target.window_minutes, working=target.working_days)
        extra = int((target.detail or {}).get("extended_days", 0))
        counted = span.count(target.started_at)
        provisional = counted.provisional
        due = counted.at
        if extra:
            more = calendar.due(due, extra, working=target.working_days)
            due, provisional = more.at, provisional or more.provisional
        target.due_at, target.provisional = due, provisional
        if "blue" in point.colours:
            target.blue_at = span.blue(target.started_at, due, point.parameters.get("blue_share"))
    target.rectify_due_at = None
    moments = [m for m in (target.blue_at, target.due_at) if m is not None]
    target.next_check_at = min(moments) if moments else None


def count_rectification(target: DeadlineClock, point: MonitoringPoint) -> calendar.Due:
    """The rectification date of a yellow raised at the clock's deadline (the point's rectification window); a date
    counted through a provisional holiday year marks the clock provisional, to be counted again with the notice."""
    span = points.window(point.parameters, prefix="rectify_")
    counted = span.count(target.due_at) if span else calendar.Due.fixed(target.due_at)
    detail = dict(target.detail or {})
    if counted.provisional:
        detail["rectify_provisional"] = True
        target.provisional = True
    else:
        detail.pop("rectify_provisional", None)
    target.detail = detail
    return counted


def rearm(target: DeadlineClock, point: MonitoringPoint, *, now: datetime) -> None:
    """Give a deadline to a clock that has none although it has a window (one left waiting for a year's calendar
    before provisional years were counted)."""
    _arm(target, point)
    audit.record(
        actor=SUPERVISION,
        action="clock.rearmed",
        subject=target,
        at=now,
        detail={"due_at": target.due_at, "provisional": target.provisional},
    )


def stop(target: DeadlineClock | None, *, at: datetime, reason: str) -> bool:
    """Stop a running clock (the sweep then resolves its open warnings); False if there was none."""
    if target is None or target.stopped_at is not None:
        return False
    target.stopped_at = at
    target.stop_reason = reason
    target.next_check_at = at  # the sweep's next pass resolves what this clock raised
    audit.record(actor=SUPERVISION, action="clock.stopped", subject=target, at=at, detail={"reason": reason})
    return True


EXTENDING_ROLES = (Role.LEGAL_OFFICER, Role.SUPERVISOR)


@use_case
def extend(
    *, clock_: DeadlineClock, days: int, approved_by: Officer, reason: str, now: datetime | None = None
) -> DeadlineClock:
    """An approved extension: the deadline moves `days` further (in the clock's own kind of days) and its warnings
    are re-armed (a new blue and red can be raised against the new deadline); audited, with an event."""
    require_officer(approved_by, *EXTENDING_ROLES)
    reason = clean(reason, missing="请填写延长理由", limit=500, what="理由")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 365:
        raise InvalidInput("延长天数须为1到365之间的整数")
    target = db.session.get(DeadlineClock, clock_.id, with_for_update=True, populate_existing=True)
    if target is None or not scope_of(approved_by).covers(target.unit_id):
        raise not_found(DeadlineClock)  # another unit's deadline answers as a missing one
    if target.stopped_at is not None:
        raise Conflict("该期限已停止计时,不能延长")
    now = now or clock.now()
    point = points.point(target.kind)
    if point.rule == "finding":
        raise Conflict("监测发现的问题须整改,不能延长期限")
    before = target.due_at
    target.detail = {
        **(target.detail or {}),
        "extended_days": int((target.detail or {}).get("extended_days", 0)) + days,
    }
    target.extended_count += 1
    _arm(target, point)
    warnings.resolve_open(target, at=now, resolution="extended")
    audit.record(
        actor=approved_by,
        action="clock.extended",
        subject=target,
        at=now,
        detail={"days": days, "reason": reason, "due_before": before, "due_after": target.due_at},
    )
    publish(Event.CLOCK_EXTENDED, clock_id=target.id)
    return target


def recount(*, year: int, now: datetime) -> list[tuple[DeadlineClock, str, datetime | None, datetime | None]]:
    """Count again every running clock whose deadline or rectification date rests on a provisional year (after a
    year's notice was loaded), in batches. A clock whose deadline moved starts a new occurrence: its open warnings
    are resolved ("calendar_changed") and the sweep raises again against the new deadline; a moved rectification
    date moves on its open yellow too. Returns (clock, what moved, before, after) for each move."""
    by_code = points.all_points()
    moved: list[tuple[DeadlineClock, str, datetime | None, datetime | None]] = []
    last_id = 0
    while True:
        batch = db.session.scalars(
            select(DeadlineClock)
            .where(DeadlineClock.provisional.is_(True), DeadlineClock.stopped_at.is_(None), DeadlineClock.id > last_id)
            .order_by(DeadlineClock.id)
            .limit(500)
            .with_for_update()
        ).all()
        if not batch:
            return moved
        for target in batch:
            last_id = target.id
            point = by_code[target.kind]
            before, rectify_before = target.due_at, target.rectify_due_at
            rectify_provisional = bool((target.detail or {}).get("rectify_provisional"))
            _arm(target, point)
            if target.due_at != before:
                target.deadline_moves += 1
                warnings.resolve_open(target, at=now, resolution="calendar_changed")
                moved.append((target, target.kind, before, target.due_at))
                _audit_recount(target, year, now, "due", before, target.due_at)
                continue
            target.rectify_due_at = rectify_before  # the deadline stands, and with it a yellow's rectification
            if rectify_before is not None and rectify_provisional:
                counted = count_rectification(target, point)
                if counted.at != rectify_before:
                    target.rectify_due_at = counted.at
                    warnings.move_rectification(target, counted.at)
                    moved.append((target, f"{target.kind} rectification", rectify_before, counted.at))
                    _audit_recount(target, year, now, "rectify", rectify_before, counted.at)
        db.session.flush()


def _audit_recount(target: DeadlineClock, year: int, now: datetime, what: str, before, after) -> None:
    audit.record(
        actor=SUPERVISION,
        action="clock.recounted",
        subject=target,
        at=now,
        detail={"year": year, "what": what, "before": before, "after": after, "provisional": target.provisional},
    )
