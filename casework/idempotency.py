"""Channel retries never create a second record: each record a channel message creates carries that message's
id in a unique column, looked up first (the fast answer) and enforced by the database (the lasting guard)."""

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casework import outbox, per_transaction
from casework.db import db

T = TypeVar("T")


def earlier(column, key: str | None):
    """The record an earlier delivery of the same message created, if any. Asked once per transaction (a channel
    may look before it decides what the message is, and the use case looks again): the answer is forgotten as soon
    as a record of that type is written, or a SAVEPOINT rolls back."""
    if not key:
        return None
    model = column.class_
    return per_transaction.lookup(
        model,
        ("earlier", model.__name__, column.key, key),
        lambda: db.session.scalar(select(model).where(column == key)),
    )


def once(column, key: str | None, create: Callable[[], T]) -> T:
    """Run `create` unless a delivery of the same message already did; return that record.

    `create` runs inside a SAVEPOINT, in the caller's transaction: when two deliveries race, the database's
    unique constraint stops the second one at its flush, only the savepoint rolls back (whatever else the use
    case did so far stays), and the winner's record is returned.
    """
    existing = earlier(column, key)
    if existing is not None:
        return existing
    if not key:
        return create()
    mark = outbox.pending_mark()
    try:
        with db.session.begin_nested():
            return create()
    except IntegrityError:
        outbox.forget_since(mark)
        winner = earlier(column, key)
        if winner is None:
            raise
        return winner
