"""Public numbers (警情编号 JQ20261126000001, 投诉编号 TS...): one counter row per prefix and day."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from casework import clock
from casework.db import db
from casework.models import NumberSequence


def next_number(prefix: str, now: datetime) -> str:
    """The next number in `prefix`'s sequence for the local day of `now`; unique under concurrent callers.

    The counter row is locked by the UPDATE until the caller's transaction ends, so numbers are never reused;
    a rolled-back transaction gives its number back.
    """
    scope = f"{prefix}{clock.local(now):%Y%m%d}"
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


def hold_counters(prefixes: tuple[str, ...], now: datetime) -> None:
    """Lock the counters of `prefixes` for the local day of `now` (those that exist) until this transaction ends,
    without drawing a number (PostgreSQL; SQLite transactions are already exclusive).

    A transaction that draws a number takes the counter's lock before it appends to the audit chain. One that
    handles several messages (a batch) may append for one message before it draws for the next: it takes the
    counters first, so that it waits for the others in the same order and never in a cycle.
    """
    session = db.session
    if session.get_bind().dialect.name != "postgresql":
        return
    scopes = sorted(f"{prefix}{clock.local(now):%Y%m%d}" for prefix in prefixes)
    session.execute(
        select(NumberSequence.scope)
        .where(NumberSequence.scope.in_(scopes))
        .order_by(NumberSequence.scope)
        .with_for_update()
    ).all()
