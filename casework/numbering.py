"""Public numbers (警情编号 JQ20261126000001, 投诉编号 TS...): one counter row per prefix and day."""

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from casework import audit, clock
from casework.db import db
from casework.models import NumberSequence


def next_number(prefix: str, now: datetime) -> str:
    """The next number in `prefix`'s sequence for the local day of `now`; unique under concurrent callers.

    The counter row is locked by the UPDATE until the caller's transaction ends, so numbers are never reused;
    a rolled-back transaction gives its number back.
    """
    scope = f"{prefix}{clock.local(now):%Y%m%d}"
    # Everything numbered is audited: take the audit chain's lock first, so that every transaction takes these
    # two in the same order (a batch holding several reports' locks would otherwise wait in a cycle with one
    # that took the counter first, then the chain).
    audit.lock_chain()
    session = db.session
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    value = session.execute(
        insert(NumberSequence)
        .values(scope=scope, last_value=1)
        .on_conflict_do_update(
            index_elements=[NumberSequence.scope], set_={"last_value": NumberSequence.last_value + 1}
        )
        .returning(NumberSequence.last_value)
    ).scalar_one()
    return f"{scope}{value:06d}"
