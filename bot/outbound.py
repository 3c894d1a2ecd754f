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
from casework.models import Attachment, AttachmentState, ChatMessage, Incident, SenderKind, TimelineEntry
from casework.status import Channel
from media.storage import storage
from wechat.client import OUT_OF_WINDOW, WeChatError

log = logging.getLogger(__name__)
CHUNK = 256 * 1024


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
        evidence.record_fetch_failure(
            attachment_id=attachment_id,
            error=f"{type(exc).__name__}: {exc}",
            give_up_after=current_app.config["WECHAT_MEDIA_FETCH_ATTEMPTS"],
        )
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
    """Deliver an officer's chat message to the citizen in the chat window (once)."""
    message = db.session.get(ChatMessage, chat_message_id)
    if message is None or message.sender_kind != SenderKind.OFFICER.value or message.delivered_at is not None:
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
