"""The two-way chat between a reporter and the dispatcher, attached to one incident."""

from datetime import datetime

from sqlalchemy import select

from casework import audit, clock, idempotency, settings, text
from casework.access import require_officer, require_owner, require_visible
from casework.db import db
from casework.events import Event, publish
from casework.models import Actor, ChatMessage, Citizen, Incident, Role, SenderKind, System, Undelivered
from casework.unit_of_work import use_case


@use_case
def add_message(
    *, incident: Incident, actor: Actor, body: str, source_msg_id: str | None = None, now: datetime | None = None
) -> ChatMessage:
    """Add one chat message; officers' messages are pushed to the citizen, citizens' reach the console."""
    if isinstance(actor, Citizen):
        require_owner(incident, actor)
        sender = SenderKind.CITIZEN
    else:
        require_officer(actor, Role.DISPATCHER, Role.OFFICER, Role.LEGAL_OFFICER)
        require_visible(actor, incident)
        sender = SenderKind.OFFICER
    now = now or clock.now()
    return idempotency.once(
        ChatMessage.source_msg_id, source_msg_id, lambda: _add(incident, actor, sender, body, source_msg_id, now)
    )


def _add(
    incident: Incident, actor: Actor, sender: SenderKind, body, source_msg_id: str | None, now: datetime
) -> ChatMessage:
    body = text.clean(body, missing="消息内容不能为空", limit=settings.get("CHAT_MESSAGE_MAX"), what="消息")
    message = ChatMessage(
        incident=incident, sender_kind=sender.value, sender_id=actor.id, body=body, source_msg_id=source_msg_id, at=now
    )
    db.session.add(message)
    incident.updated_at = now
    db.session.flush()
    audit.record(
        actor=actor,
        action="chat.message_added",
        subject=message,
        at=now,
        detail={"incident_id": incident.id, "sender": sender.value, "length": len(body)},
    )
    publish(Event.CHAT_MESSAGE_ADDED, chat_message_id=message.id)
    return message


@use_case
def mark_delivered(*, message_id: int, via: str, now: datetime | None = None) -> ChatMessage | None:
    """Record that an officer's message reached the citizen (once); None when it already had."""
    message = db.session.get(ChatMessage, message_id, with_for_update=True, populate_existing=True)
    if message is None or message.delivered_at is not None:
        return None
    _delivered(message, via=via, now=now or clock.now())
    return message


def _delivered(message: ChatMessage, *, via: str, now: datetime) -> None:
    message.delivered_at = now
    audit.record(
        actor=System("notify"),
        action="chat.message_delivered",
        subject=message,
        at=now,
        detail={"incident_id": message.incident_id, "via": via},
    )


@use_case
def mark_shown_on_tracking_page(*, incident: Incident, now: datetime | None = None) -> int:
    """A web reporter opened their tracking page, which shows every message: the officers' messages not yet
    delivered are now delivered (via the page; audited each); returns how many."""
    now = now or clock.now()
    waiting = db.session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.incident_id == incident.id,
            ChatMessage.sender_kind == SenderKind.OFFICER.value,
            ChatMessage.delivered_at.is_(None),
        )
        .with_for_update()
    ).all()
    for message in waiting:
        _delivered(message, via="tracking_page", now=now)
    return len(waiting)


@use_case
def mark_undelivered(*, message_id: int, reason: Undelivered, now: datetime | None = None) -> ChatMessage | None:
    """Record that an officer's message could not reach the citizen, and why (the console shows it); None when
    it had reached them or was already so marked."""
    message = db.session.get(ChatMessage, message_id, with_for_update=True, populate_existing=True)
    if message is None or message.delivered_at is not None or message.undelivered_reason is not None:
        return None
    now = now or clock.now()
    message.undelivered_reason = reason.value
    audit.record(
        actor=System("notify"),
        action="chat.message_undelivered",
        subject=message,
        at=now,
        detail={"incident_id": message.incident_id, "reason": reason.value},
    )
    return message


def messages(*, incident: Incident, viewer: Actor, after_id: int = 0, limit: int = 100) -> list[ChatMessage]:
    """The chat of one incident, oldest first, after a given message id (for polling)."""
    if isinstance(viewer, Citizen):
        require_owner(incident, viewer)
    else:
        require_officer(viewer)
        require_visible(viewer, incident)
    return list(
        db.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.incident_id == incident.id, ChatMessage.id > after_id)
            .order_by(ChatMessage.id)
            .limit(min(max(limit, 1), 500))
        )
    )
