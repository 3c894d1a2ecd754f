"""The two-way chat between a reporter and the dispatcher, attached to one incident."""

from sqlalchemy import select

from casework import audit, clock, idempotency, outbox, settings, text
from casework.access import require_officer, require_owner, require_visible
from casework.db import db
from casework.models import Actor, ChatMessage, Citizen, Incident, Role, SenderKind, System


def add_message(*, incident: Incident, actor: Actor, body: str, source_msg_id: str | None = None) -> ChatMessage:
    """Add one chat message; officers' messages are pushed to the citizen, citizens' reach the console."""
    if isinstance(actor, Citizen):
        require_owner(incident, actor)
        sender = SenderKind.CITIZEN
    else:
        require_officer(actor, Role.DISPATCHER, Role.OFFICER, Role.LEGAL_OFFICER)
        require_visible(actor, incident)
        sender = SenderKind.OFFICER
    return idempotency.once(ChatMessage.source_msg_id, source_msg_id,
                            lambda: _add(incident, actor, sender, body, source_msg_id))


def _add(incident: Incident, actor: Actor, sender: SenderKind, body, source_msg_id: str | None) -> ChatMessage:
    body = text.clean(body, missing="消息内容不能为空", limit=settings.get("CHAT_MESSAGE_MAX"), what="消息")
    now = clock.now()
    message = ChatMessage(incident=incident, sender_kind=sender.value, sender_id=actor.id, body=body,
                          source_msg_id=source_msg_id, at=now)
    db.session.add(message)
    incident.updated_at = now
    db.session.flush()
    audit.record(actor=actor, action="chat.message_added", subject=message, at=now,
                 detail={"incident_id": incident.id, "sender": sender.value, "length": len(body)})
    outbox.publish("chat.message_added", chat_message_id=message.id)
    db.session.commit()
    return message


def mark_delivered(*, message_id: int, via: str) -> ChatMessage | None:
    """Record that an officer's message reached the citizen (once); None when it already had."""
    message = db.session.get(ChatMessage, message_id, with_for_update=True, populate_existing=True)
    if message is None or message.delivered_at is not None:
        db.session.rollback()
        return None
    now = clock.now()
    message.delivered_at = now
    audit.record(actor=System("notify"), action="chat.message_delivered", subject=message, at=now,
                 detail={"incident_id": message.incident_id, "via": via})
    db.session.commit()
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
