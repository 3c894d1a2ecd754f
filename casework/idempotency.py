"""Channel retries never create a second record: each record a channel message creates carries that message's
id in a unique column, looked up first (the fast answer) and enforced by the database (the lasting guard)."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casework.db import db


def earlier(column, key: str | None):
    """The record an earlier delivery of the same message created, if any."""
    if not key:
        return None
    return db.session.scalar(select(column.class_).where(column == key))


def commit_or_earlier(column, key: str | None):
    """Commit; if a concurrent delivery of the same message won the race, roll back and return its record.

    Returns None when this transaction's record was committed.
    """
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = earlier(column, key)
        if winner is None:
            raise
        return winner
    return None
