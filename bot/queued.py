"""Queued reply mode: the callback only captures a message and answers `success`; a job handles it later.

The callback's whole database work is one short transaction: the claim row in `wechat_inbound`, now carrying
the decrypted message, and the outbox row of the job that will handle it. The job runs the same registry
handler as inline mode and pushes the reply as a customer-service message (a template outside the 48-hour
window). A citizen's messages are handled in the order they were captured, one at a time, so that a doorplate
scan, a "投诉", or a report is seen before the text that follows it. A job also takes other citizens' waiting
messages, up to WECHAT_QUEUED_BATCH, and handles them all in one transaction (`bot.batch`).
"""

import functools
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError

from bot import batch, envelope, inbox, outbound, registry, replies
from bot.models import InboundMessage
from casework import clock, locks, numbering, outbox
from casework.db import db

log = logging.getLogger(__name__)
LOCK_SPACE = 0x5758  # first key of the two-key advisory locks that serialise one citizen's queued messages
_local_lock = threading.Lock()  # the same guard where there are no advisory locks (SQLite, one process)


HELD = "wx110:inbound:held"  # the Redis stream of messages kept while the database was unreachable
UNREACHABLE = (OperationalError, InterfaceError)


class NotKept(Exception):
    """Neither the database nor Redis could keep a message: WeChat must not be told it was delivered."""


def keep(data: dict, xml: bytes, *, wait: float | None = None) -> None:
    """Capture a message durably before the callback answers `success`: in the database, or, while it is
    unreachable, in Redis (an append-only stream that `drain_held` moves into the database in arrival order).

    While earlier messages still wait in Redis, new ones queue behind them, so one citizen's messages keep their
    order. When neither can keep it, try again for up to `wait` seconds (past WeChat's 5-second limit, so that
    WeChat retries) and raise NotKept.
    """
    redis = current_app.extensions.get("wx110.redis")
    wait = current_app.config["WECHAT_UNKEPT_WAIT"] if wait is None else wait
    deadline = time.monotonic() + wait
    while True:
        try:
            if redis is not None and _held_waiting(redis):
                _hold(redis, xml)
                return
            capture(data, xml)
            return
        except UNREACHABLE as exc:
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
                db.session.invalidate()
            _warn_once_a_minute("bot: database unreachable (%s); keeping messages in Redis", type(exc).__name__)
            if redis is not None:
                try:
                    _hold(redis, xml)
                    return
                except RedisError:
                    pass
        if time.monotonic() >= deadline:
            log.error("bot: neither the database nor Redis can keep a message; WeChat will retry it")
            raise NotKept()
        time.sleep(0.5)


_last_warning = [0.0]


def _warn_once_a_minute(message: str, *args) -> None:
    """One line a minute per process while an outage lasts, not one per message."""
    if time.monotonic() - _last_warning[0] >= 60:
        _last_warning[0] = time.monotonic()
        log.warning(message, *args)


def _held_waiting(redis) -> bool:
    try:
        return bool(redis.xlen(HELD))
    except RedisError:
        return False  # nothing can be drained from an unreachable Redis either: the database decides


def _hold(redis, xml: bytes) -> None:
    redis.xadd(HELD, {"xml": xml})


def drain_held(redis, *, batch: int = 200) -> int:
    """Move the messages kept in Redis into the database in arrival order, each exactly once (its claim row's
    unique key makes a second capture a no-op); return how many were moved. One drainer at a time (the caller
    holds the housekeeping lock)."""
    moved = 0
    while True:
        entries = redis.xrange(HELD, count=batch)
        if not entries:
            return moved
        for entry_id, fields in entries:
            xml = fields[b"xml"]
            opened = envelope.parse(xml)
            capture(opened.data, xml)
            redis.xdel(HELD, entry_id)  # a crash before this captures it again: a no-op
            moved += 1


def capture(data: dict, xml: bytes) -> bool:
    """Record the message and schedule its handling in one commit; False when an earlier delivery already did."""
    key = inbox.dedupe_key(data)
    job_id = outbox.add("bot.handle_inbound", key=key)
    claimed = db.session.execute(
        _claim_statement(db.session.get_bind().dialect.name),
        {
            "key": key,
            "openid": data["FromUserName"][:64],
            "msg_type": registry.kind_of(data)[:48],
            "received_at": clock.now(),
            "payload": xml.decode("utf-8"),
            "outbox_id": job_id,
        },
    ).scalar()
    if claimed is None:
        # A retry: the first delivery is captured and its job will push the reply. The new job row goes.
        db.session.rollback()
        return False
    db.session.commit()
    return True


@functools.cache
def _claim_statement(dialect: str):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING key, built once: Core, not the ORM, on the callback's path."""
    table = InboundMessage.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(table.c.key)


def handle_inbound(key: str) -> None:
    """Handle a captured message and push its reply, after the same citizen's earlier captured messages."""
    own = db.session.execute(
        select(InboundMessage.openid, InboundMessage.outbox_id, InboundMessage.sent_at).where(
            InboundMessage.key == key, InboundMessage.payload.is_not(None)
        )
    ).first()
    db.session.rollback()
    if own is None or own.sent_at is not None:
        return
    with citizen_lock(own.openid) as holder:
        mine = _unsent_up_to(own.openid, own.outbox_id, key)
        size = current_app.config["WECHAT_QUEUED_BATCH"]
        if size > 1 and mine:
            room = size - len(mine)
            batch.handle(mine + batch.others(holder, lock_space=LOCK_SPACE, own_openid=own.openid, room=room), key)
            return
        for pending in mine:
            try:
                _handle_and_push(pending)
            except Exception:
                db.session.rollback()
                if pending.key == key:
                    raise
                # An earlier message failing must not hold this one up; its own job retries it.
                log.exception("bot: queued message %s failed (retried by its own job)", pending.key)


def _unsent_up_to(openid: str, outbox_id: int | None, key: str) -> list:
    """The citizen's captured messages not yet pushed, up to and including `key`, in capture order. Read under
    the citizen's lock, which every handler of this citizen's messages holds, so they stay current while it is
    held (a duplicate delivery of a job waits for the lock, then finds them sent)."""
    columns = (
        InboundMessage.key,
        InboundMessage.openid,
        InboundMessage.reply,
        InboundMessage.payload,
        InboundMessage.outbox_id,
    )
    unsent = (InboundMessage.payload.is_not(None), InboundMessage.sent_at.is_(None))
    if outbox_id is None:
        query = select(*columns).where(InboundMessage.key == key, *unsent)
    else:
        query = (
            select(*columns)
            .where(InboundMessage.openid == openid, InboundMessage.outbox_id <= outbox_id, *unsent)
            .order_by(InboundMessage.outbox_id)
        )
    rows = db.session.execute(query).all()
    db.session.rollback()
    return list(rows)


def _handle_and_push(pending) -> None:
    """Run the handler once (the reply, stored in the handler's own transaction, says it ran), then push the
    reply once (sent_at says it went)."""
    key, openid, reply = pending.key, pending.openid, pending.reply
    if reply is None:
        opened = envelope.parse(pending.payload.encode("utf-8"))
        with numbering.reserving(key):  # a batch that handled it before and failed reserved its numbers to it
            reply = inbox.run_handler(
                opened.msg, opened.data, key, keep=lambda text: _set(key, reply=text, replied_at=clock.now())
            )
    via = ""
    if reply:
        template = replies.reply_template(reply, clock.now())
        via = outbound.push(openid, reply, current_app.config["WECHAT_CHAT_TEMPLATE_ID"], template)
    # No wait for the WAL flush: a mark a crash loses goes with the job's completion mark after it (the WAL is
    # flushed in order), so the job runs again, finds the reply stored and pushes it again (at least once).
    inbox.mark_sent(key, via)
    db.session.commit()


def _set(key: str, **values) -> None:
    db.session.execute(update(InboundMessage).where(InboundMessage.key == key).values(**values))


@contextmanager
def citizen_lock(openid: str) -> Iterator[locks.Holder]:
    """Hold a lock for one citizen's queued messages across the handler's own commits: a transaction-scoped
    advisory lock on a connection of its own (`casework.locks.held`), safe behind a transaction-mode pooler; the
    holder yielded can take other citizens' locks for a batch (`bot.batch`)."""
    if db.engine.dialect.name != "postgresql":
        with _local_lock:
            yield locks.Holder()  # one process, all of whose queued messages this lock serialises
        return
    with locks.held(LOCK_SPACE, openid) as holder:
        yield holder
