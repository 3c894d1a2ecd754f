"""Queued reply mode: handling several citizens' captured messages in one transaction.

The job that handles a captured message (`bot.queued.handle_inbound`) holds its citizen's lock on a connection of
its own. On that connection it also takes, without waiting (`pg_try_advisory_xact_lock`, so no order of taking
them can deadlock), the locks of other citizens whose captured messages wait, up to WECHAT_QUEUED_BATCH messages
in all; a citizen whose lock another worker holds is left to that worker. Under those locks:

- every message runs in a SAVEPOINT of one transaction, each citizen's in capture order, and the transaction
  commits once: one WAL flush, and one acquisition of the audit chain's lock for all their entries, at the commit.
  The numbers their records get are reserved to the messages in short transactions of their own
  (`casework.numbering.reserving`), so the batch holds no day counter while it works, and several workers' batches
  run side by side. The jobs a message's records schedule that join their caller's transaction (routing the
  incident, starting its supervision clock) run in its SAVEPOINT too (`casework.outbox.in_place`), not as
  follow-ups in a transaction of their own. A message whose handler fails is rolled back alone; its error is
  recorded on its own job, which retries it by itself (a batch leaves alone every citizen with a message whose job
  has failed before, so a poisoned one is never retried twice over, and that citizen's order stays with its own
  jobs);
- then the replies are pushed, each marked sent as soon as it went (a commit that does not wait for the WAL
  flush), and the other messages' jobs are marked done in one statement and one commit.

The other messages' jobs are taken out of the queue as soon as the batch has their citizens' locks (they are the
next ones in it): the other workers go on with other messages instead of queueing behind this batch's locks, and
no worker spends a run on a job whose work is done. A job the batch does not finish (its handler or its push
failed) is queued again at once. A worker that dies leaves the jobs it took neither done, nor queued, nor running:
housekeeping re-sends them as abandoned, and they find the database as the batch left it (nothing, before its
commit; the stored replies, after it, which they push).
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select, update

from bot import envelope, inbox, outbound, replies
from bot.models import InboundMessage
from casework import clock, locks, numbering, outbox
from casework.db import db
from casework.errors import DomainError
from casework.models import OutboxMessage
from casework.unit_of_work import transaction

log = logging.getLogger(__name__)
JOB = "bot.handle_inbound"
JOB_QUEUE = "inbound"
_COLUMNS = (
    InboundMessage.key,
    InboundMessage.openid,
    InboundMessage.reply,
    InboundMessage.payload,
    InboundMessage.outbox_id,
)


@dataclass
class Outcome:
    """One message of a batch: its row, the reply it ends with, or the error that left it to its own job."""

    pending: object
    reply: str | None = None
    error: Exception | None = None
    via: str | None = None  # how the reply went, once pushed


def others(holder: locks.Holder, *, lock_space: int, own_openid: str, room: int) -> list:
    """Captured messages of other citizens, waiting, whose locks `holder` could take at once: at most `room`, each
    citizen's unsent messages from its first, in capture order; none of a citizen with a job that failed.

    Their jobs are taken out of the queue first, and a citizen is taken only if all its waiting jobs came out: a job
    another worker has already taken is left to it, with its citizen, instead of making that worker wait for this
    batch's lock on the citizen while the batch runs."""
    if room <= 0:
        return []
    payloads = db.session.scalars(
        select(OutboxMessage.payload)
        .where(OutboxMessage.done_at.is_(None), OutboxMessage.job == JOB, OutboxMessage.last_error.is_(None))
        .order_by(OutboxMessage.id)
        .limit(room * 2)
    ).all()
    keys = [json.loads(payload).get("key") for payload in payloads]
    if not keys:
        db.session.rollback()
        return []
    owners = db.session.execute(
        select(InboundMessage.openid, InboundMessage.outbox_id)
        .where(InboundMessage.key.in_(keys), InboundMessage.sent_at.is_(None), InboundMessage.openid != own_openid)
        .order_by(InboundMessage.outbox_id)
    ).all()
    db.session.rollback()
    owners = _fitting(owners, room)
    withdrawn = _withdraw([row.outbox_id for row in owners if row.outbox_id is not None])
    busy = {row.openid for row in owners if row.outbox_id not in withdrawn}
    candidates = [openid for openid in dict.fromkeys(row.openid for row in owners) if openid not in busy]
    taken = holder.try_also(lock_space, candidates) if candidates else set()
    rows = []
    if taken:
        # Read again under their locks, which every handler of their messages holds: current while they are held.
        rows = db.session.execute(
            select(*_COLUMNS, OutboxMessage.last_error)
            .outerjoin(OutboxMessage, OutboxMessage.id == InboundMessage.outbox_id)
            .where(
                InboundMessage.openid.in_(sorted(taken)),
                InboundMessage.payload.is_not(None),
                InboundMessage.sent_at.is_(None),
            )
            .order_by(InboundMessage.outbox_id)
        ).all()
        db.session.rollback()
    failed = {row.openid for row in rows if row.last_error is not None or row.outbox_id is None}
    chosen = [row for row in rows if row.openid not in failed][:room]  # what is cut off: their latest, left alone
    # Jobs of messages captured since the first look are taken out too (their citizens' locks are held here); a job
    # taken out whose message is not in the batch goes back to the queue. A job this batch does not finish is queued
    # again (`_hand_back`), or, if this worker dies, re-sent by housekeeping as abandoned (not done, not queued,
    # not running).
    in_batch = {row.outbox_id for row in chosen}
    _withdraw(sorted(in_batch - withdrawn))
    _requeue(sorted(withdrawn - in_batch))
    return chosen


def _fitting(owners: list, room: int) -> list:
    """The waiting messages of the first citizens (in capture order) whose messages all fit in `room`: only their
    jobs are taken out of the queue (a job taken out and not used would be queued again: the work of two)."""
    per_citizen: dict[str, list] = {}
    for row in owners:
        per_citizen.setdefault(row.openid, []).append(row)
    chosen: list = []
    for rows in per_citizen.values():
        if len(chosen) + len(rows) > room:
            break
        chosen.extend(rows)
    return sorted(chosen, key=lambda row: row.outbox_id or 0)


def handle(batch: list, own_key: str) -> None:
    """Handle the messages of `batch` (held under their citizens' locks) in one transaction, push their replies,
    and mark them sent; raise the own message's error, if it failed, so that its job retries it."""
    now = clock.now()
    try:
        outcomes = _handle_together(batch, own_key, now=now)
        _push(outcomes)
        _mark_sent(outcomes, own_key, now=clock.now())
    except Exception:
        # The batch failed as a whole (its commit, the database): every other message's job goes back to the
        # queue at once, and finds there whatever of its work is done.
        db.session.rollback()
        _hand_back([Outcome(pending, error=RuntimeError("batch failed")) for pending in batch], own_key)
        raise
    _hand_back(outcomes, own_key)
    own = next((outcome for outcome in outcomes if outcome.pending.key == own_key), None)
    if own is not None and own.error is not None:
        raise own.error


def _handle_together(batch: list, own_key: str, *, now: datetime) -> list[Outcome]:
    outcomes = [Outcome(pending, reply=pending.reply) for pending in batch]
    stored: list[dict] = []
    with transaction():  # one commit for the whole batch: the incidents are durable once it returns
        # The batch holds no lock that other writers wait for while it works: its numbers are reserved to their
        # messages in short transactions of their own (`numbering.reserving`), and its audit entries join the
        # chain when it commits.
        for outcome in outcomes:
            if outcome.reply is not None:
                continue  # handled before (its push did not happen): push it now
            _handle_one(outcome)
            if outcome.error is None:
                stored.append({"message_key": outcome.pending.key, "reply": outcome.reply})
            elif outcome.pending.key != own_key and outcome.pending.outbox_id is not None:
                _record_failure(outcome.pending.outbox_id, outcome.error)
        if stored:
            db.session.execute(
                update(InboundMessage.__table__)
                .where(InboundMessage.__table__.c.key == bindparam("message_key"))
                .values(replied_at=now),
                stored,
            )
    return outcomes


def _handle_one(outcome: Outcome) -> None:
    """Run one message's handler in a SAVEPOINT: a refusal is its reply and changes nothing; a failure rolls back
    this message alone."""
    pending = outcome.pending
    mark = outbox.pending_mark()
    try:
        opened = envelope.parse(pending.payload.encode("utf-8"))
        with db.session.begin_nested(), numbering.reserving(pending.key), outbox.in_place():
            outcome.reply = inbox.handle_turn(opened.msg, opened.data, pending.key)
    except DomainError as error:
        outbox.forget_since(mark)
        outcome.reply = error.message
    except Exception as exc:  # one message failing must not spoil the others
        outbox.forget_since(mark)
        outcome.error = exc
        log.exception("bot: queued message %s failed in a batch (its own job retries it)", pending.key)


def _record_failure(outbox_id: int, error: Exception) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.done_at.is_(None))
        .values(attempts=OutboxMessage.attempts + 1, last_error=f"{type(error).__name__}: {error}"[:2000])
    )


def _push(outcomes: list[Outcome]) -> None:
    """Push every reply of the batch (over the client's kept-alive HTTP session); a failed push is left to the
    message's own job, which finds the reply stored."""
    template_id = current_app.config["WECHAT_CHAT_TEMPLATE_ID"]
    for outcome in outcomes:
        if outcome.error is not None:
            continue
        if not outcome.reply:
            outcome.via = ""
            continue
        try:
            template = replies.reply_template(outcome.reply, clock.now())
            via = outbound.push(outcome.pending.openid, outcome.reply, template_id, template)
        except Exception as exc:  # WeChat refused or was unreachable: its own job retries
            outcome.error = exc
            log.exception("bot: pushing the reply to %s failed (its own job retries it)", outcome.pending.key)
            continue
        # Marked at once, each in a commit that does not wait for the WAL flush: a worker dying in the middle of
        # the pushes repeats at most the one it was sending, as when a single job dies between its push and its
        # mark (one statement for the whole batch would repeat every push made before it).
        inbox.mark_sent(outcome.pending.key, via)
        db.session.commit()
        outcome.via = via


def _mark_sent(outcomes: list[Outcome], own_key: str, *, now: datetime) -> None:
    """One commit: the other messages' jobs whose replies went are done (the own message's job marks itself), and
    the messages with nothing to say are marked sent with them."""
    sent = [outcome for outcome in outcomes if outcome.via is not None]
    if not sent:
        return
    silent = [outcome.pending.key for outcome in sent if outcome.via == ""]
    # No wait for the WAL flush: a mark lost in a crash only runs those jobs again, which find the replies sent.
    inbox.without_flush_wait(db.session.get_bind().dialect.name)
    if silent:
        db.session.execute(
            update(InboundMessage).where(InboundMessage.key.in_(silent)).values(sent_at=now, sent_via="")
        )
    finished = [o.pending.outbox_id for o in sent if o.pending.key != own_key and o.pending.outbox_id is not None]
    if finished:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(finished), OutboxMessage.done_at.is_(None))
            .values(done_at=now, attempts=OutboxMessage.attempts + 1, last_error=None)
        )
    db.session.commit()


def _withdraw(outbox_ids: list[int]) -> set[int]:
    """Take these messages' jobs out of the queue; the ids whose jobs came out (none where no dispatcher can)."""
    withdraw = getattr(current_app.extensions.get("wx110.dispatcher"), "withdraw", None)
    if withdraw is None or not outbox_ids:
        return set()
    return set(withdraw(JOB_QUEUE, outbox_ids))


def _requeue(outbox_ids: list[int]) -> None:
    """Put these messages' jobs in the queue again."""
    dispatcher = current_app.extensions.get("wx110.dispatcher")
    if outbox_ids and dispatcher is not None:
        dispatcher.dispatch([(outbox_id, JOB_QUEUE) for outbox_id in outbox_ids])


def _hand_back(outcomes: list[Outcome], own_key: str) -> None:
    """Queue again the jobs of the other messages this batch took but did not finish (a handler or a push
    failed): each retries its message alone, with the queue's backoff."""
    _requeue(
        [
            o.pending.outbox_id
            for o in outcomes
            if o.error is not None and o.pending.key != own_key and o.pending.outbox_id is not None
        ]
    )
