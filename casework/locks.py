"""Advisory locks held across several commits, safe behind a transaction-mode connection pooler.

Some locks must outlive the caller's own commits (one outbox message while its handler runs and commits). Such a
lock is held by an open transaction on a connection of its own (`pg_advisory_xact_lock`) and released when that
transaction ends. Never a session-level lock: behind PgBouncer in transaction mode the server connection may
change at every transaction, so a session lock taken in one transaction stays behind on a server connection that
another client gets next, and the unlock runs on a different one and releases nothing. An open transaction pins
its server connection until it ends, so the lock and its release always meet.

The holding transaction only ran one SELECT: it has no transaction id and, in READ COMMITTED, no snapshot that
would hold back vacuum while it waits.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from casework.db import db

log = logging.getLogger(__name__)


class Holder:
    """The open transaction that holds advisory locks until its block ends; it can take more of them, without
    waiting (`try_also`)."""

    def __init__(self, connection=None):
        self.connection = connection

    def try_also(self, space: int, names: list[str]) -> set[str]:
        """Take, if free, the lock (`space`, hashtext(name)) of each name, in one round trip and without waiting
        (so no order of taking them can deadlock); return the names now held here. Elsewhere than on PostgreSQL
        (one process, whose caller already serialises) every name."""
        if self.connection is None:
            return set(names)
        if not names:
            return set()
        rows = self.connection.execute(
            text(
                "SELECT name FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS t(name, position) "
                "WHERE pg_try_advisory_xact_lock(:space, hashtext(name)) ORDER BY position"
            ),
            {"space": space, "names": list(names)},
        ).scalars()
        return set(rows)


@contextmanager
def held(space: int, key: int | str) -> Iterator[Holder]:
    """Hold the two-key advisory lock (`space`, `key`) until the block ends (PostgreSQL; a no-op elsewhere). A text
    `key` names the lock (`space`, hashtext(`key`)): two names may share a lock, which only serialises them. The
    `Holder` yielded can take more locks that end with this one."""
    if db.engine.dialect.name != "postgresql":
        yield Holder()
        return
    second = "hashtext(:key)" if isinstance(key, str) else ":key"
    with db.engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text(f"SELECT pg_advisory_xact_lock(:space, {second})"), {"space": space, "key": key})
        try:
            yield Holder(connection)
        finally:
            try:
                transaction.rollback()  # ends the transaction, which releases the lock
            except Exception:
                log.exception("could not end the transaction holding advisory lock (%s, %s)", space, key)
                connection.invalidate()  # the server releases it when the connection goes; never pool this one


@contextmanager
def try_held(space: int, key: int) -> Iterator[bool]:
    """Take the two-key advisory lock (`space`, `key`) if it is free and hold it until the block ends; yield
    whether this caller got it (PostgreSQL; elsewhere always True: one process, nothing to share)."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect() as connection:
        transaction = connection.begin()
        got = connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:space, :key)"), {"space": space, "key": key}
        ).scalar()
        try:
            yield bool(got)
        finally:
            try:
                transaction.rollback()
            except Exception:
                log.exception("could not end the transaction holding advisory lock (%s, %s)", space, key)
                connection.invalidate()


def held_keys(space: int) -> set[int] | None:
    """The second keys of the two-key advisory locks in `space` that some session holds now (PostgreSQL; None
    elsewhere, where nobody can tell)."""
    if db.engine.dialect.name != "postgresql":
        return None
    rows = db.session.execute(
        text(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted "
            "AND classid = CAST(:space AS oid)"
        ),
        {"space": space},
    ).scalars()
    return {int(objid) for objid in rows}


@contextmanager
def try_held_many(space: int, keys: list[int]) -> Iterator[set[int]]:
    """Take those of the two-key advisory locks (`space`, key) that are free, in one round trip and without
    waiting, and hold them until the block ends; yield the keys taken (PostgreSQL; elsewhere all of them)."""
    if db.engine.dialect.name != "postgresql" or not keys:
        yield set(keys)
        return
    with db.engine.connect() as connection:
        transaction = connection.begin()
        taken = connection.execute(
            text(
                "SELECT key FROM unnest(CAST(:keys AS integer[])) AS t(key) "
                "WHERE pg_try_advisory_xact_lock(:space, key)"
            ),
            {"space": space, "keys": list(keys)},
        ).scalars()
        try:
            yield {int(key) for key in taken}
        finally:
            try:
                transaction.rollback()
            except Exception:
                log.exception("could not end the transaction holding advisory locks in space %s", space)
                connection.invalidate()
