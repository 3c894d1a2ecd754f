"""Loading a year of holidays and make-up working days (`flask calendar import <file>`): checked line by line,
loaded all or nothing, audited; every open deadline counted provisionally through that year is counted again on
it (clocks and the deadlines kept in other rows, a complaint's answer date), and what moved is reported."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from casework import audit, clock
from casework.db import db
from casework.events import Event, publish
from casework.models import Actor
from casework.unit_of_work import use_case
from supervision import clocks, provisional
from supervision.calendar import YearFile, parse_year_file
from supervision.models import CalendarDay, CalendarYear


@dataclass(frozen=True)
class Imported:
    """A loaded year and the deadlines it moved."""

    year: YearFile
    moved: list[provisional.Moved]


@use_case
def import_year(*, content: str, source: str, actor: Actor, now: datetime | None = None) -> Imported:
    """Load (or replace) one year from a file's text; CalendarFileError lists every bad line and changes nothing.

    Returns the year read and every deadline that moved with it."""
    parsed = parse_year_file(content, filename=source)
    now = now or clock.now()
    existing = db.session.get(CalendarYear, parsed.year)
    replaced = None
    if existing is not None:
        replaced = db.session.scalar(
            select(func.count()).select_from(CalendarDay).where(CalendarDay.year == parsed.year)
        )
        db.session.execute(delete(CalendarDay).where(CalendarDay.year == parsed.year))
        existing.source, existing.loaded_at = source[:256], now
    else:
        db.session.add(CalendarYear(year=parsed.year, source=source[:256], loaded_at=now))
        db.session.flush()
    db.session.add_all(CalendarDay(day=day, year=parsed.year, kind=kind, name=name) for day, kind, name in parsed.days)
    db.session.flush()
    year_row = db.session.get(CalendarYear, parsed.year)
    audit.record(
        actor=actor,
        action="calendar.imported",
        subject=year_row,
        at=now,
        detail={
            "year": parsed.year,
            "source": source,
            "holidays": sum(1 for _, kind, _ in parsed.days if kind == "holiday"),
            "workdays": sum(1 for _, kind, _ in parsed.days if kind == "workday"),
            "replaced_days": replaced,
        },
    )
    publish(Event.CALENDAR_IMPORTED, year=parsed.year)
    moved = provisional.recount(year=parsed.year, actor=actor, now=now)
    for target, what, before, after in clocks.recount(year=parsed.year, now=now):
        moved.append(provisional.Moved(target.subject_number, what, before, after, target.provisional))
    return Imported(year=parsed, moved=moved)
