"""Channel retries never create a second record: each record a channel message creates carries that message's
id in a unique column, looked up first (the fast answer) and enforced by the database (the lasting guard)."""

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casework.db import db

T = TypeVar("T")


def earlier(column, key: str | None):
    """The record an earlier delivery of the same message created, if any."""
    if not key:
        return None
    return db.session.scalar(select(column.class_).where(column == key))


def once(column, key: str | None, create: Callable[[], T]) -> T:
    """Run `create` (which commits) unless a delivery of the same message already did; return that record.

    When two deliveries race, the database's unique constraint stops the second one (at flush or at commit);
    it rolls back and returns the winner's record.
    """
    existing = earlier(column, key)
    if existing is not None:
        return existing
    try:
        return create()
    except IntegrityError:
        db.session.rollback()
        winner = earlier(column, key)
        if winner is None:
            raise
        return winner
