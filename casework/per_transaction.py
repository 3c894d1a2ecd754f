"""Rows a transaction looks up many times by the same question (the dispatch centre, a monitoring point), read
once per transaction: the first lookup runs the query and keeps the row in `session.info`; later ones hand back
that same object, as long as it is still in the session, without a round trip. (Keeping only its id would not
do: the session's identity map holds unchanged objects weakly, so a row nobody refers to between two reports is
gone from it and `session.get` reads it again.)

What is kept is forgotten when the transaction ends, on any rollback (a SAVEPOINT's included: the row may have
been added inside it), and, entry by entry, when a flush writes a row of the type an entry depends on (a unit
moved in the tree, a monitoring point added): the next lookup asks the database again. A batch of reports in one
transaction thus reads each such row once, and a change made in the same transaction is never hidden.

`keep` holds a row this transaction locked until the transaction ends, so that the next use case of the same
transaction (the follow-ups of a report, run together) finds it in the identity map; `created` does the same for
a row it inserted, and `ours` then tells that nobody else can have locked, changed or referred to it.
"""

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from casework.db import db

T = TypeVar("T")
_KEY = "wx110.per_transaction"  # session.info: question -> (the row's type, the row or None)
_KEPT = "wx110.per_transaction.kept"  # session.info: rows held until the transaction ends
_CREATED = "wx110.per_transaction.created"  # session.info: (table, id) -> a row this transaction inserted
_ALL = (_KEY, _KEPT, _CREATED)
_MISSING = object()


def lookup(model: type[T], question: tuple, find: Callable[[], T | None]) -> T | None:
    """The row of `model` that answers `question` in this transaction: `find()`'s answer the first time, the
    same object after that. `question` names the lookup (e.g. ("unit", "code", code))."""
    session = db.session
    known = session.info.setdefault(_KEY, {}).get(question, _MISSING)
    if known is not _MISSING:
        row = known[1]
        if row is None or row in session:  # not deleted, expunged or rolled back since (that would re-read it)
            return row
    row = find()
    session.info.setdefault(_KEY, {})[question] = (model, row)
    return row


def value(depends_on: type, question: tuple, compute: Callable[[], T]) -> T:
    """A value computed from rows of `depends_on` (e.g. the unit tree as a dict), once per transaction: forgotten
    like a looked-up row, so a change to such a row in this transaction computes it again."""
    session = db.session
    known = session.info.setdefault(_KEY, {}).get(question, _MISSING)
    if known is not _MISSING:
        return known[1]
    computed = compute()
    session.info.setdefault(_KEY, {})[question] = (depends_on, computed)
    return computed


def keep(row) -> None:
    """Hold `row` in the session's identity map until the transaction ends, for a row this transaction locked
    (SELECT ... FOR UPDATE) and will look at again: nobody else can change it meanwhile, so a later
    `session.get` of it needs no round trip (the map alone holds an unchanged object only weakly)."""
    db.session.info.setdefault(_KEPT, []).append(row)


def created(row) -> None:
    """Note a row this transaction inserted (flushed: it has its id), and hold it until the transaction ends.
    Nobody else sees it before the commit, let alone locks or changes it: `ours` tells a later use case of the
    same transaction (a report's routing, its clock) that it need not lock it, nor ask the database what else
    refers to it."""
    db.session.info.setdefault(_CREATED, {})[(row.__table__.name, row.id)] = row


def ours(table: str, row_id) -> bool:
    """Whether this transaction inserted the row `row_id` of `table` (noted with `created`). Forgotten on any
    rollback, a SAVEPOINT's included: the answer is then False, which only costs a round trip."""
    return (table, row_id) in db.session.info.get(_CREATED, {})


def created_rows(model: type[T]) -> list[T]:
    """The rows of `model` this transaction inserted and noted with `created`."""
    table = model.__table__.name
    return [row for (name, _), row in db.session.info.get(_CREATED, {}).items() if name == table]


@event.listens_for(Session, "after_flush")
def _forget_changed(session: Session, _context) -> None:
    kept = session.info.get(_KEY)
    if not kept:
        return
    types = {model for model, _ in kept.values()}
    changed = {
        model
        for record in (*session.new, *session.dirty, *session.deleted)
        for model in types
        if isinstance(record, model)
    }
    if changed:  # only what depends on them: a report written does not make the unit tree read again
        for question in [q for q, (model, _) in kept.items() if model in changed]:
            del kept[question]


def _forget_all(session: Session) -> None:
    for key in _ALL:
        session.info.pop(key, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous) -> None:
    _forget_all(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        _forget_all(session)
