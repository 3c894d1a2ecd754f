"""What the board and the warning lists read: warnings in a viewer's scope, counts by colour, unit and point, a
daily trend, deadlines resting on a provisional holiday year, and each incident's open warning colour for the live
queue."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select

from casework import clock
from casework.access import scope_of
from casework.db import db
from casework.models import Officer, Unit
from supervision import calendar, texts
from supervision.models import Colour, DeadlineClock, MonitoringPoint, ProvisionalDue, SubjectType, Warning


@dataclass(frozen=True)
class Filters:
    colour: str | None = None
    unit_code: str | None = None
    point_code: str | None = None
    open_only: bool = False


def warnings_query(viewer: Officer | None, filters: Filters = Filters()):
    """Warnings in `viewer`'s scope (everything for None: the operator's CLI), newest first."""
    query = select(Warning).order_by(Warning.id.desc())
    if viewer is not None:
        query = query.where(scope_of(viewer).clause(Warning.unit_id))
    if filters.colour:
        query = query.where(Warning.colour == filters.colour)
    if filters.unit_code:
        query = query.join(Unit, Warning.unit_id == Unit.id).where(Unit.code == filters.unit_code)
    if filters.point_code:
        query = query.join(MonitoringPoint, Warning.point_id == MonitoringPoint.id).where(
            MonitoringPoint.code == filters.point_code
        )
    if filters.open_only:
        query = query.where(Warning.resolved_at.is_(None))
    return query


def listing(viewer: Officer | None, filters: Filters = Filters(), *, limit: int = 1000) -> list[Warning]:
    return list(db.session.scalars(warnings_query(viewer, filters).limit(limit)))


def as_dict(warning: Warning) -> dict:
    """One warning as the CLI's JSON and the CSV export show it."""
    return {
        "id": warning.id,
        "colour": warning.colour,
        "point": warning.point.code,
        "point_name": warning.point.name,
        "subject_type": warning.subject_type,
        "subject_number": warning.subject_number,
        "unit": warning.unit.code if warning.unit else None,
        "raised_at": warning.raised_at.isoformat(),
        "due_at": warning.due_at.isoformat() if warning.due_at else None,
        "rectify_due_at": warning.rectify_due_at.isoformat() if warning.rectify_due_at else None,
        "resolved_at": warning.resolved_at.isoformat() if warning.resolved_at else None,
        "resolution": warning.resolution,
    }


@dataclass
class Board:
    by_colour: dict[str, int]
    by_unit: list[tuple[str, str, dict[str, int]]]  # (code, name, {colour: open count})
    by_point: list[tuple[str, str, dict[str, int]]]
    trend_days: list[str]
    trend: dict[str, list[int]]  # colour -> raised per day
    provisional: list[DeadlineClock]  # deadlines counted through a year whose holiday notice is not loaded
    pending_years: list[int]  # years whose official holiday notice should be imported


def board(viewer: Officer, *, now: datetime | None = None, days: int = 30) -> Board:
    """Open warnings in the viewer's scope counted three ways, the raised-per-day trend, and flagged deadlines."""
    now = now or clock.now()
    scope = scope_of(viewer).clause(Warning.unit_id)
    open_rows = db.session.execute(
        select(Warning.colour, Unit.code, Unit.name, MonitoringPoint.code, MonitoringPoint.name, func.count())
        .join(MonitoringPoint, Warning.point_id == MonitoringPoint.id)
        .outerjoin(Unit, Warning.unit_id == Unit.id)
        .where(scope, Warning.resolved_at.is_(None))
        .group_by(Warning.colour, Unit.code, Unit.name, MonitoringPoint.code, MonitoringPoint.name)
    ).all()
    by_colour = {c.value: 0 for c in Colour}
    units: dict[tuple[str, str], dict[str, int]] = {}
    point_counts: dict[tuple[str, str], dict[str, int]] = {}
    for colour, unit_code, unit_name, point_code, point_name, count in open_rows:
        by_colour[colour] += count
        key = (unit_code or "-", unit_name or "未分派")
        units.setdefault(key, {c.value: 0 for c in Colour})[colour] += count
        point_counts.setdefault((point_code, point_name), {c.value: 0 for c in Colour})[colour] += count
    start = clock.local(now).date() - timedelta(days=days - 1)
    day_list = [start + timedelta(days=i) for i in range(days)]
    trend = {c.value: [0] * days for c in Colour}
    since = datetime.combine(start, datetime.min.time(), tzinfo=clock.CHINA)
    for colour, raised_at in db.session.execute(
        select(Warning.colour, Warning.raised_at).where(scope, Warning.raised_at >= since)
    ):
        index = (clock.local(raised_at).date() - start).days
        if 0 <= index < days:
            trend[colour][index] += 1
    provisional = list(
        db.session.scalars(
            select(DeadlineClock)
            .where(
                DeadlineClock.provisional.is_(True),
                DeadlineClock.stopped_at.is_(None),
                scope_of(viewer).clause(DeadlineClock.unit_id),
            )
            .order_by(DeadlineClock.started_at)
            .limit(200)
        )
    )
    return Board(
        by_colour=by_colour,
        by_unit=[(code, name, counts) for (code, name), counts in sorted(units.items())],
        by_point=[(code, name, counts) for (code, name), counts in sorted(point_counts.items())],
        trend_days=[d.strftime("%m-%d") for d in day_list],
        trend=trend,
        provisional=provisional,
        pending_years=pending_calendar_years(now=now),
    )


def pending_calendar_years(*, now: datetime) -> list[int]:
    """Years whose official holiday notice administrators should import: this year while it has none, and next
    year once deadlines already rest on it or its notice is due (the State Council publishes it around November)."""
    this_year = clock.local(now).year
    current = calendar.current()
    pending = [this_year] if not current.knows(this_year) else []
    if not current.knows(this_year + 1):
        resting = db.session.scalar(
            select(
                exists().where(DeadlineClock.provisional.is_(True), DeadlineClock.stopped_at.is_(None))
                | exists().where(ProvisionalDue.last_year >= this_year + 1)
            )
        )
        if resting or clock.local(now).month >= 11:
            pending.append(this_year + 1)
    return pending


CSV_HEADER = ["预警编号", "颜色", "监测点", "对象", "编号", "单位", "预警时间", "到期时间", "整改期限", "解除时间"]


def csv_export(warnings: list[Warning]) -> bytes:
    """The warnings as CSV that Excel opens correctly: UTF-8 with a byte-order mark, CRLF lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for w in warnings:
        writer.writerow(
            [
                w.id,
                Colour(w.colour).label,
                w.point.name,
                SubjectType(w.subject_type).label,
                w.subject_number,
                w.unit.name if w.unit else "未分派",
                texts.due_text(w.raised_at),
                texts.due_text(w.due_at),
                texts.due_text(w.rectify_due_at) if w.rectify_due_at else "",
                texts.due_text(w.resolved_at) if w.resolved_at else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def incidents_warned(colour: str | None = None):
    """A subquery of the incidents with an open warning (of `colour`, or any), for the live queue's filter."""
    query = select(Warning.incident_id).where(Warning.resolved_at.is_(None), Warning.incident_id.is_not(None))
    if colour:
        query = query.where(Warning.colour == colour)
    return query


def open_warnings_of(subject_type: SubjectType, subject_ids: list[int]) -> dict[int, Warning]:
    """The most severe open warning of each subject of one kind (a case's measures, its property items), so that
    every page that shows a watched thing shows its warning."""
    found: dict[int, Warning] = {}
    if not subject_ids:
        return found
    rows = db.session.scalars(
        select(Warning).where(
            Warning.subject_type == subject_type.value,
            Warning.subject_id.in_(subject_ids),
            Warning.resolved_at.is_(None),
        )
    )
    for warning in rows:
        current = found.get(warning.subject_id)
        if current is None or _worse(warning.colour, current.colour):
            found[warning.subject_id] = warning
    return found


def open_colours(incident_ids: list[int]) -> dict[int, str]:
    """The most severe open warning colour of each incident (its own, its case's or its complaints')."""
    if not incident_ids:
        return {}
    found: dict[int, str] = {}
    rows = db.session.execute(
        select(Warning.incident_id, Warning.colour).where(
            Warning.incident_id.in_(incident_ids), Warning.resolved_at.is_(None)
        )
    )
    for incident_id, colour in rows:
        if incident_id not in found or _worse(colour, found[incident_id]):
            found[incident_id] = colour
    return found


def _worse(colour: str, than: str) -> bool:
    return Colour(colour).rank > Colour(than).rank
