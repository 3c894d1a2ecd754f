"""The replay guard's durable half: used (timestamp, nonce) pairs in the database, and their sweep.

Redis answers first (`store.add_shared`); the database decides when Redis cannot answer, and always for a
plaintext body, which no signature covers and which a flushed Redis would otherwise let through under a captured
query string. A row is written only for a message that passed every other check, so a refused request changes
nothing.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite

from bot.models import UsedNonce
from casework.db import db

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The database could not record the nonce: the message is refused so that WeChat retries it."""


def remember(key: str, digest: str, *, ttl: int, now: datetime) -> str | None:
    """Record `key` with `digest` unless it is already there (and unexpired); return the digest already recorded,
    or None when this call recorded it. Commits on its own."""
    session = db.session
    try:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            # The message's own (synchronous) commit follows and flushes the WAL in order.
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = UsedNonce.__table__
        recorded = session.execute(
            insert(table)
            .values(key=key, digest=digest, expires_at=now + timedelta(seconds=ttl))
            .on_conflict_do_nothing()
            .returning(table.c.key)
        ).scalar()
        if recorded is not None:
            session.commit()
            return None
        seen = session.execute(select(table.c.digest, table.c.expires_at).where(table.c.key == key)).first()
        session.commit()
    except Exception as exc:
        session.rollback()
        log.warning("bot: the durable replay guard could not answer (%s)", type(exc).__name__)
        raise Unavailable(str(exc)) from exc
    if seen is None:  # swept between the insert and the read: nothing is recorded any more, so try once more
        return remember(key, digest, ttl=ttl, now=now)
    return seen.digest


def sweep_expired(*, now: datetime) -> int:
    """Delete the nonces whose replay window has passed (a periodic sweep); returns how many."""
    deleted = db.session.execute(delete(UsedNonce).where(UsedNonce.expires_at < now)).rowcount
    db.session.commit()
    return deleted or 0
