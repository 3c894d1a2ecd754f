"""Handling each inbound message exactly once, and answering every delivery of it the same way.

A message is claimed by inserting its key into `wechat_inbound` (the primary key is the lasting guard); only the
claimant runs the handler, then stores the reply in the row and in Redis. A retry, or a concurrent duplicate
delivery, finds the reply (Redis first, then the database) instead of acting again.

A claim is a lease: a claim row still without a reply after `WECHAT_CLAIM_LEASE_SECONDS` (its claimant crashed
between claim and release, or the database went away) is taken over by the next delivery of the message, which
handles it. Exactly once still holds, because the business effect is idempotent on the message id (the report's
`source_id`).
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite

from bot import registry
from bot.models import InboundMessage
from bot.registry import Turn
from casework import citizens, clock
from casework.db import db
from casework.errors import DomainError
from casework.models import Citizen
from casework.unit_of_work import transaction
from store import state

log = logging.getLogger(__name__)
REPLY_TTL = 3600
BUSY = object()  # the handler failed: answer BUSY, store nothing, so a retry can try again


def dedupe_key(data: dict) -> str:
    """ "msg:<MsgId>" for messages; events (which have no MsgId) by sender, CreateTime, Event and content."""
    openid, created = data["FromUserName"], data["CreateTime"]
    msg_id = str(data.get("MsgId") or data.get("MsgID") or "")
    if str(data.get("MsgType", "")).lower() != "event" and msg_id.isdigit() and int(msg_id):
        return f"msg:{msg_id}"
    kind = registry.kind_of(data).removeprefix("event:")
    # Events have no id: sender + CreateTime + Event, plus a digest of all fields (a retry repeats them exactly)
    # so that two different menu clicks or scans within one second are not taken for one.
    digest = hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"evt:{openid}:{created}:{kind}:{digest}"[:160]


def answer(msg, data: dict) -> str | object:
    """The reply text for this message ("" means plain success), acting on it only the first time."""
    key = dedupe_key(data)
    kv = state("bot")
    cached = kv.get(f"reply:{key}")
    if cached is not None:
        return cached
    kind = registry.kind_of(data)
    if not _claim(key, data["FromUserName"], kind) and not _take_over(key):
        return _wait_for_reply(key)
    try:
        reply = run_handler(msg, data, key)
        _store_reply(key, reply)
    except Exception:
        log.exception("bot: handling %s (%s) failed", key, kind)
        db.session.rollback()
        _release(key)
        return BUSY
    kv.set(f"reply:{key}", reply, REPLY_TTL)
    return reply


def run_handler(msg, data: dict, key: str, *, keep: Callable[[str], None] | None = None) -> str:
    """Identify the sender and run the registered handler (both reply modes) as one use case, committed before
    the reply is returned; a refusal becomes the reply and changes nothing. `keep(reply)`, when given, writes the
    reply in the same transaction (so "the handler ran" and its effects commit together)."""
    citizen = citizens.identify(oa_openid=data["FromUserName"])
    try:
        with transaction():
            reply = handle_turn(msg, data, key, citizen=citizen)
            if keep is not None:
                keep(reply)
            return reply
    except DomainError as error:
        if keep is not None:
            with transaction():
                keep(error.message)
        return error.message


def handle_turn(msg, data: dict, key: str, *, citizen: Citizen | None = None) -> str:
    """Run the registered handler for one message in the caller's transaction (identifying the sender there
    unless `citizen` is given); the reply ("" for none). A DomainError (a refusal) propagates: the caller rolls
    back what the handler did and answers its message."""
    citizen = citizen or citizens.identify(oa_openid=data["FromUserName"])
    turn = Turn(msg=msg, data=data, citizen=citizen, source_id=f"wechat:{key.removeprefix('msg:')}")
    return registry.handler_for(registry.kind_of(data))(turn) or ""


def without_flush_wait(dialect: str) -> None:
    """Commit this transaction without waiting for its WAL flush (PostgreSQL).

    Safe here: a claim is made durable by the handler's own (synchronous) commit that follows it, since the WAL
    is flushed in order; and a stored reply that a crash loses within that instant is still in Redis, or the
    retry is answered `success`. Nothing a citizen was told depends on these two commits alone.
    """
    if dialect == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _flush_wait_skipped(dialect: str):
    """`without_flush_wait` as a condition that is always true, for the one statement of a transaction: it saves
    the round trip of its own statement (PostgreSQL's `set_config(..., is_local => true)` is SET LOCAL)."""
    if dialect == "postgresql":
        return text("set_config('synchronous_commit', 'off', true) IS NOT NULL")
    return true()


_INBOUND = InboundMessage.__table__
_MARK_SENT = {  # one prepared Core statement per dialect
    dialect: update(_INBOUND)
    .where(_INBOUND.c.key == bindparam("message_key"), _flush_wait_skipped(dialect))
    .values(sent_at=bindparam("at"), sent_via=bindparam("via"))
    for dialect in ("postgresql", "sqlite")
}


def mark_sent(key: str, via: str) -> None:
    """Mark a captured message's reply as gone (`via`: how; "" for no reply), in the one statement of a
    transaction the caller commits at once, without waiting for the WAL flush (see `without_flush_wait`: a mark a
    crash loses only pushes that reply again)."""
    db.session.execute(
        _MARK_SENT[db.session.get_bind().dialect.name], {"message_key": key, "at": clock.now(), "via": via}
    )


def _claim(key: str, openid: str, kind: str) -> bool:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    without_flush_wait(dialect)
    claimed = db.session.execute(
        insert(InboundMessage)
        .values(key=key, openid=openid[:64], msg_type=kind[:48], received_at=clock.now())
        .on_conflict_do_nothing()
        .returning(InboundMessage.key)
    ).scalar()
    db.session.commit()
    return claimed is not None


def _take_over(key: str) -> bool:
    """Take over a claim whose lease ran out without a reply (inline claims only: a queued capture carries its
    payload and its own job); True when this delivery now holds it."""
    now = clock.now()
    lease = timedelta(seconds=current_app.config["WECHAT_CLAIM_LEASE_SECONDS"])
    taken = db.session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.key == key,
            InboundMessage.reply.is_(None),
            InboundMessage.payload.is_(None),
            InboundMessage.received_at < now - lease,
        )
        .values(received_at=now)
        .returning(InboundMessage.key)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    if taken is not None:
        log.warning("bot: took over the claim on %s (no reply after %s)", key, lease)
    return taken is not None


def _store_reply(key: str, reply: str) -> None:
    without_flush_wait(db.session.get_bind().dialect.name)
    db.session.execute(
        update(InboundMessage).where(InboundMessage.key == key).values(reply=reply, replied_at=clock.now())
    )
    db.session.commit()


def _release(key: str) -> None:
    try:
        db.session.execute(delete(InboundMessage).where(InboundMessage.key == key, InboundMessage.reply.is_(None)))
        db.session.commit()
    except Exception:  # the database itself may be what failed
        log.exception("bot: could not release the claim on %s", key)
        db.session.rollback()


def _wait_for_reply(key: str) -> str:
    """A concurrent delivery is being handled: wait (within WeChat's 5 seconds) for the reply it stores."""
    deadline = time.monotonic() + current_app.config["WECHAT_DUPLICATE_WAIT"]
    pause = 0.02
    kv = state("bot")
    while True:
        cached = kv.get(f"reply:{key}")
        if cached is not None:
            return cached
        stored = db.session.scalar(select(InboundMessage.reply).where(InboundMessage.key == key))
        db.session.rollback()  # a fresh snapshot next time round
        if stored is not None:
            return stored
        if time.monotonic() >= deadline:
            return ""  # still in progress elsewhere: that delivery answers, this one says success
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
