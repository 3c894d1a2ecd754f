"""Jobs the bot runs from the outbox: fetching WeChat media into evidence storage, and pushing officer messages
and progress to the citizen (customer-service message inside the 48-hour window, template message outside it).
"""

import logging
import mimetypes

from flask import current_app

import wechat
from bot import replies
from bot.conversation import Conversation
from casework import chat, evidence
from casework.db import db
from casework.models import (
    Attachment,
    AttachmentKind,
    AttachmentState,
    ChatMessage,
    Complaint,
    Incident,
    SenderKind,
    TimelineEntry,
    Undelivered,
)
from casework.status import Channel
from media.storage import storage
from wechat.client import OUT_OF_WINDOW, WeChatError

log = logging.getLogger(__name__)
CHUNK = 256 * 1024
MEDIA_GONE = 40007  # "invalid media_id": expired (3 days) or never held; no retry can fetch it


def fetch_media(attachment_id: int) -> None:
    """Stream a pending WeChat media file into storage, hashing it, before its media id expires (3 days)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.state == AttachmentState.STORED.value or not attachment.wechat_media_id:
        db.session.rollback()
        return
    media_id = attachment.wechat_media_id
    db.session.rollback()  # hold no transaction during the download
    try:
        with wechat.client("oa").download_media(media_id) as response:
            response.raise_for_status()
            content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip() or None
            suffix = mimetypes.guess_extension(content_type or "") or ""
            stored = storage().save(
                response.iter_content(CHUNK), suffix=suffix, max_bytes=current_app.config["WECHAT_MEDIA_MAX_BYTES"]
            )
    except Exception as exc:
        db.session.rollback()
        gone = isinstance(exc, WeChatError) and exc.errcode == MEDIA_GONE
        evidence.record_fetch_failure(
            attachment_id=attachment_id,
            error=f"{type(exc).__name__}: {exc}",
            give_up_after=current_app.config["WECHAT_MEDIA_FETCH_ATTEMPTS"],
            final=gone,
        )
        if gone:
            return  # recorded as failed and the citizen asked again: retrying would only fail the same way
        raise
    evidence.mark_stored(
        attachment_id=attachment_id,
        storage_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        content_type=content_type,
    )


def push(openid: str, text: str, template_id: str, template_data: dict) -> str:
    """Send `text` as a customer-service message, or the template outside the window; return how it went
    ("custom", "template", or "none" when the citizen is outside the window and no template is configured)."""
    client = wechat.client("oa")
    try:
        client.send_text(openid, text)
        return "custom"
    except WeChatError as error:
        if error.errcode != OUT_OF_WINDOW:
            raise
    if not template_id:
        log.warning("bot: citizen outside the 48-hour window and no template configured; not notified")
        return "none"
    client.send_template(openid, template_id, template_data)
    return "template"


def _reachable(incident: Incident) -> str | None:
    """The official-account openid to notify for an incident reported through the account, if any."""
    if incident.channel != Channel.WECHAT.value:
        return None
    return incident.citizen.oa_openid


def push_chat_message(chat_message_id: int) -> None:
    """Deliver an officer's chat message to the citizen in the chat window (once); when it cannot be, say so on
    the message for the officer."""
    message = db.session.get(ChatMessage, chat_message_id)
    if (
        message is None
        or message.sender_kind != SenderKind.OFFICER.value
        or message.delivered_at is not None
        or message.undelivered_reason is not None
    ):
        db.session.rollback()
        return
    incident = message.incident
    openid = _reachable(incident)
    if not openid:
        db.session.rollback()
        return
    text = replies.PUSH_OFFICER_MESSAGE.format(number=incident.number, body=message.body)
    data = replies.officer_message_template(incident, message.body, message.at)
    db.session.rollback()
    via = push(openid, text, current_app.config["WECHAT_CHAT_TEMPLATE_ID"], data)
    if via != "none":
        Conversation(openid).follow(incident.id)  # the citizen's answer goes back to this chat
        chat.mark_delivered(message_id=chat_message_id, via=via)
    else:
        chat.mark_undelivered(message_id=chat_message_id, reason=Undelivered.OUTSIDE_WINDOW)


def push_progress(incident_id: int, timeline_entry_id: int) -> None:
    """Tell the citizen about a step of progress on their incident."""
    incident = db.session.get(Incident, incident_id)
    entry = db.session.get(TimelineEntry, timeline_entry_id)
    if incident is None or entry is None or not entry.public_note:
        db.session.rollback()
        return
    openid = _reachable(incident)
    if not openid:
        db.session.rollback()
        return
    text, data = replies.progress(incident, entry), replies.progress_template(incident, entry)
    db.session.rollback()
    push(openid, text, current_app.config["WECHAT_PROGRESS_TEMPLATE_ID"], data)


def push_evidence_failed(attachment_id: int) -> None:
    """Ask the citizen to send again a file that could not be received (once: the event fires once)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.state != AttachmentState.FAILED.value:
        db.session.rollback()
        return
    incident = attachment.incident
    openid = _reachable(incident)
    if not openid:
        db.session.rollback()
        return
    kind = AttachmentKind(attachment.kind).label
    text = replies.PUSH_EVIDENCE_FAILED.format(number=incident.number, kind=kind)
    data = replies.evidence_failed_template(incident, kind, attachment.created_at)
    db.session.rollback()
    via = push(openid, text, current_app.config["WECHAT_PROGRESS_TEMPLATE_ID"], data)
    if via != "none":
        Conversation(openid).follow(incident.id)  # the file sent again joins this incident


def push_complaint_answer(complaint_id: int) -> None:
    """Tell the complainant the answer to their complaint (official-account incidents; the mini-program has its
    own subscribe message)."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or complaint.answer is None:
        db.session.rollback()
        return
    openid = _reachable(complaint.incident)
    if not openid:
        db.session.rollback()
        return
    text = replies.PUSH_COMPLAINT_ANSWER.format(number=complaint.number, answer=complaint.answer)
    data = replies.complaint_answer_template(complaint)
    db.session.rollback()
    push(openid, text, current_app.config["WECHAT_PROGRESS_TEMPLATE_ID"], data)
