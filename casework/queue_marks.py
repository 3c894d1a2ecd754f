"""Marks of change for the console's live queue, so that an open console's poll costs almost nothing while
nothing it shows has changed.

Every unit has a counter in the shared store. When a transaction that inserted or changed incidents commits, the
counter of each unit that holds (or held) one of them is bumped, and so are the counters of every unit above it
(an incident not yet routed bumps the root, which alone sees it). An officer's mark is the counter of the unit
at the top of their scope: it changes whenever anything they may see in the queue has changed.

The bump happens after the commit, and a poll reads the mark before it reads the rows: a poll that sees a mark
also sees every change committed before that mark was bumped, so a console that keeps its mark misses nothing.
If the store cannot be reached the marks live in each process's memory for a while; the console also re-reads
its rows at least once a minute (the ages it shows change), so the worst case is a minute's delay, never a loss.
"""

from flask import Flask, current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from casework import per_transaction
from casework.access import scope_of
from casework.db import db
from casework.models import Incident, Officer, Unit
from store import state, state_of

NAMESPACE = "queue"
TTL = 2 * 86400  # a counter forgotten after two days restarts at 1; the minute in the console's version differs
_TOUCHED = "wx110.queue_marks.touched"  # unit ids (None: not routed) changed in this transaction
_BUMP = "wx110.queue_marks.bump"  # the same, with every unit above them, ready to bump at commit


def init_app(app: Flask) -> None:
    """Watch the database session for committed changes to incidents (once per process)."""
    for name, listener in (
        ("after_flush", _collect),
        ("after_flush_postexec", _resolve),
        ("after_commit", _bump),
        ("after_soft_rollback", _forget),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def touch(unit_id: int | None) -> None:
    """Mark the queue of `unit_id` (and the units above it) changed when this transaction commits, for a change
    the queue shows that is not in the incident's own row (a warning's colour, say)."""
    db.session.info.setdefault(_TOUCHED, set()).add(unit_id)


def top_of(officer: Officer) -> int | None:
    """The unit whose mark covers everything `officer` may see in the queue (None: they see nothing)."""
    return scope_of(officer).top


def mark(unit_id: int | None) -> str:
    """The change mark of the queue of `unit_id` and every unit below it (a store read, no database)."""
    return mark_in(current_app, unit_id)


def mark_in(app: Flask, unit_id: int | None) -> str:
    """`mark`, read from `app`'s store; also outside an app context (the console's idle polls are answered there)."""
    return (state_of(app, NAMESPACE).get(f"unit:{unit_id}") or "0") if unit_id is not None else "-"


def _collect(session: Session, _context) -> None:
    touched = session.info.setdefault(_TOUCHED, set())
    for record in (*session.new, *session.dirty):
        if isinstance(record, Incident):
            touched.add(record.unit_id)
            touched.update(inspect(record).attrs.unit_id.history.deleted or ())  # an assignment elsewhere


def _resolve(session: Session, _context) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    # Once per transaction, however many flushes (a batch of reports flushes once each), and again after a flush
    # that changed the tree.
    parents = per_transaction.value(
        Unit, ("unit", "parents"), lambda: dict(session.execute(select(Unit.id, Unit.parent_id)).all())
    )
    bump = session.info.setdefault(_BUMP, set())
    for unit_id in touched:
        if unit_id is None:  # not routed yet: only the root sees it
            bump.update(unit for unit, parent in parents.items() if parent is None)
        while unit_id is not None and unit_id not in bump:
            bump.add(unit_id)
            unit_id = parents.get(unit_id)


def _bump(session: Session) -> None:
    units = session.info.pop(_BUMP, None)
    if units:
        marks = state(NAMESPACE)
        for unit_id in sorted(units):
            marks.count(f"unit:{unit_id}", TTL)


def _forget(session: Session, previous) -> None:
    if previous.parent is not None:
        return  # a savepoint: the outer transaction's changes may still commit
    session.info.pop(_TOUCHED, None)
    session.info.pop(_BUMP, None)
