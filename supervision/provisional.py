"""Deadlines kept in a row's own column (a complaint's answer date, its current step's date) that were counted
through a provisional holiday year: remembered with how they were counted, shown as 「暂定」, and counted again
when the year's official notice is loaded.

A use case sets such a column through `assign`, never by hand, so that the column and its basis agree; a column
changed some other way since is left alone when the year is loaded (its basis no longer matches what it holds).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from casework import audit, per_transaction
from casework.db import db
from casework.models import Actor
from supervision.calendar import Due, current
from supervision.models import ProvisionalDue

BATCH = 500


def assign(subject, field: str, due: Due | None) -> None:
    """Set `subject.<field>` to the deadline `due` (None clears it) and remember how it was counted while it rests
    on a provisional year. The subject must have its id (flushed)."""
    setattr(subject, field, due.at if due is not None else None)
    existing = _row(subject, field)
    if due is None or not due.provisional:
        if existing is not None:
            db.session.delete(existing)
        return
    row = existing or ProvisionalDue(subject_table=subject.__tablename__, subject_id=subject.id, field=field)
    row.start_at, row.days, row.value = due.start, due.days, due.at
    row.first_year, row.last_year = min(due.years), max(due.years)
    if existing is None:
        db.session.add(row)


def basis(subject, field: str) -> Due | None:
    """The deadline in `subject.<field>` as it was counted (a fixed moment when it is not provisional)."""
    value = getattr(subject, field)
    if value is None:
        return None
    row = _row(subject, field)
    if row is None or row.value != value:
        return Due.fixed(value)
    years = tuple(range(row.first_year, row.last_year + 1))
    return Due(at=value, start=row.start_at, days=row.days, years=years)


def provisional_fields(subject) -> frozenset[str]:
    """Which of the subject's deadline columns rest on a provisional year (shown with 「暂定」)."""
    if subject is None or getattr(subject, "id", None) is None:
        return frozenset()
    table, subject_id = subject.__tablename__, subject.id
    # Read once per transaction (a page marks several of a complaint's deadlines); forgotten when a row is written.
    rows = per_transaction.value(
        ProvisionalDue,
        ("provisional_due", table, subject_id),
        lambda: db.session.execute(
            select(ProvisionalDue.field, ProvisionalDue.value).where(
                ProvisionalDue.subject_table == table, ProvisionalDue.subject_id == subject_id
            )
        ).all(),
    )
    return frozenset(field for field, value in rows if getattr(subject, field, None) == value)


def _row(subject, field: str) -> ProvisionalDue | None:
    return db.session.scalar(
        select(ProvisionalDue).where(
            ProvisionalDue.subject_table == subject.__tablename__,
            ProvisionalDue.subject_id == subject.id,
            ProvisionalDue.field == field,
        )
    )


@dataclass(frozen=True)
class Moved:
    """One deadline that a loaded year moved (or confirmed)."""

    what: str  # the subject's public number, or table#id
    field: str  # the column, or the clock's monitoring point code
    before: datetime | None
    after: datetime | None
    provisional: bool  # still provisional after the count (it crosses another year without data)


def _model_of(table: str):
    for mapper in db.Model.registry.mappers:
        if getattr(mapper.local_table, "name", None) == table:
            return mapper.class_
    return None


def recount(*, year: int, actor: Actor, now: datetime) -> list[Moved]:
    """Count again every remembered deadline that went through `year` (after its notice was loaded), in batches;
    each moved deadline is audited on its subject. Returns every deadline that moved."""
    calendar = current()
    moved: list[Moved] = []
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(ProvisionalDue)
            .where(ProvisionalDue.id > last_id, ProvisionalDue.first_year <= year, ProvisionalDue.last_year >= year)
            .order_by(ProvisionalDue.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return moved
        for row in rows:
            last_id = row.id
            model = _model_of(row.subject_table)
            subject = db.session.get(model, row.subject_id, with_for_update=True) if model is not None else None
            if subject is None or getattr(subject, row.field, None) != row.value:
                db.session.delete(row)  # the column was changed since (or its row is gone): not ours to move
                continue
            counted = calendar.count_working_days(row.start_at, row.days)
            before = row.value
            assign(subject, row.field, counted)
            if counted.at != before:
                what = getattr(subject, "number", None) or f"{row.subject_table}#{row.subject_id}"
                moved.append(Moved(what, row.field, before, counted.at, counted.provisional))
                audit.record(
                    actor=actor,
                    action="deadline.recounted",
                    subject=subject,
                    at=now,
                    detail={"field": row.field, "year": year, "before": before, "after": counted.at},
                )
        db.session.flush()
