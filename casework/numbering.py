"""Public numbers (警情编号 JQ20261126000001, 投诉编号 TS...): one counter row per prefix and day.

A number is normally drawn inside the transaction that uses it: the counter row stays locked until that
transaction ends, so numbers are never reused and a rolled-back transaction gives its number back. A worker that
handles many captured messages in one long transaction would hold the day's counter for all of it and make every
other writer of numbers wait; inside `reserving(holder)` a number is drawn instead in a short transaction of its
own, on another connection, and reserved to `holder` (the captured message): the counter is held only for that
moment. The same holder gets the same number again when its handling is retried, the transaction that uses the
number deletes the reservation, and a reservation left behind names the message behind a number no record
carries.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import bindparam, delete, text
from sqlalchemy.dialects import postgresql, sqlite

from casework import clock
from casework.db import UTCDateTime, db
from casework.models import NumberReservation, NumberSequence

_RESERVING = "wx110.numbering.holder"  # session.info: (holder, draws so far by prefix) inside `reserving`
RESERVE_LOCK_TIMEOUT = "5s"  # a reservation waits this long at most for a counter another transaction holds


def next_number(prefix: str, now: datetime) -> str:
    """The next number in `prefix`'s sequence for the local day of `now`; unique under concurrent callers.

    The counter row is locked by the UPDATE until the caller's transaction ends, so numbers are never reused;
    a rolled-back transaction gives its number back. Inside `reserving`, the number is reserved instead.
    """
    scope = f"{prefix}{clock.local(now):%Y%m%d}"
    session = db.session
    reserving = session.info.get(_RESERVING)
    if reserving is not None and session.get_bind().dialect.name == "postgresql":
        holder, draws = reserving
        draws[prefix] = draws.get(prefix, 0) + 1
        number = _reserve(scope, f"{holder}#{prefix}{draws[prefix]}"[:200], now)
        # Used in this transaction: the reservation goes with its commit (and stays if it rolls back).
        session.execute(delete(NumberReservation).where(NumberReservation.number == number))
        return number
    value = session.execute(_draw(session.get_bind().dialect.name, scope)).scalar_one()
    return f"{scope}{value:06d}"


@contextmanager
def reserving(holder: str) -> Iterator[None]:
    """Numbers drawn inside are reserved to `holder` (up to 200 characters, unique to the message), each in a short
    transaction of its own (PostgreSQL; elsewhere they are drawn as usual)."""
    session = db.session
    outer = session.info.get(_RESERVING)
    session.info[_RESERVING] = (holder, {})
    try:
        yield
    finally:
        if outer is None:
            session.info.pop(_RESERVING, None)
        else:
            session.info[_RESERVING] = outer


def _reserve(scope: str, holder: str, now: datetime) -> str:
    """The number reserved to `holder` in `scope`, reserving the next one if it has none (committed at once, on a
    connection of its own: the counter's lock lasts one short transaction of three round trips)."""
    with db.engine.connect() as connection:
        # Not waiting for the WAL flush is safe: the transaction that uses the number commits after this one and
        # waits for its own flush, which includes this; a reservation a crash loses was never used.
        connection.exec_driver_sql(
            f"SET LOCAL lock_timeout = '{RESERVE_LOCK_TIMEOUT}'; SET LOCAL synchronous_commit TO OFF"
        )
        number = connection.execute(_RESERVE, {"scope": scope, "holder": holder, "at": now}).scalar_one()
        connection.commit()
        return number


# The holder's reservation if it has one; else the counter's next value, reserved to it. One statement: the counter
# is drawn only when the holder has no reservation (a retry of its message gets the same number).
_RESERVE = text(
    """
    WITH held AS (SELECT number FROM number_reservation WHERE holder = :holder),
    drawn AS (
        INSERT INTO number_sequence (scope, last_value)
        SELECT :scope, 1 WHERE NOT EXISTS (SELECT 1 FROM held)
        ON CONFLICT (scope) DO UPDATE SET last_value = number_sequence.last_value + 1
        RETURNING last_value
    ),
    reserved AS (
        INSERT INTO number_reservation (number, holder, reserved_at)
        SELECT :scope || lpad(last_value::text, greatest(6, length(last_value::text)), '0'), :holder, :at FROM drawn
        RETURNING number
    )
    SELECT number FROM reserved UNION ALL SELECT number FROM held
    """
).bindparams(bindparam("at", type_=UTCDateTime()))


def _draw(dialect: str, scope: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(NumberSequence)
        .values(scope=scope, last_value=1)
        .on_conflict_do_update(
            index_elements=[NumberSequence.scope], set_={"last_value": NumberSequence.last_value + 1}
        )
        .returning(NumberSequence.last_value)
    )
