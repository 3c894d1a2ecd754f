"""Subscribe-message consents: record what wx.requestSubscribeMessage granted, and spend one per message telling
a mini-program citizen their incident moved, an officer wrote to them, or their complaint was answered."""

import logging
from datetime import datetime
from enum import StrEnum

from flask import current_app
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from casework import audit, chat, clock
from casework.db import db
from casework.models import ChatMessage, Citizen, Complaint, Incident, SenderKind, System, TimelineEntry, Undelivered
from casework.status import Channel, IncidentStatus
from casework.unit_of_work import use_case
from miniapp_api import texts
from miniapp_api.models import ConsentState, SubscribeConsent
from wechat import WeChatError
from wechat import client as wechat_client
from wechat.client import NO_CONSENT

log = logging.getLogger(__name__)
ACTOR = System("miniapp.notify")
TEMPLATE_ID_MAX = 128


@use_case
def record(
    *, citizen: Citizen, results: dict[str, str], incident: Incident | None = None, now: datetime | None = None
) -> int:
    """Keep one consent per accepted template; returns how many were recorded."""
    now = now or clock.now()
    accepted = sorted(
        template
        for template, result in results.items()
        if result == "accept" and 1 <= len(template) <= TEMPLATE_ID_MAX  # no WeChat template id is empty or longer
    )
    for template_id in accepted:
        db.session.add(
            SubscribeConsent(
                citizen_id=citizen.id,
                template_id=template_id,
                incident_id=incident.id if incident else None,
                granted_at=now,
                state=ConsentState.AVAILABLE.value,
            )
        )
    if accepted:
        audit.record(
            actor=citizen,
            action="miniapp.consent_granted",
            subject=citizen,
            at=now,
            detail={"templates": accepted, "incident_id": incident.id if incident else None},
        )
    return len(accepted)


def available(citizen: Citizen) -> int:
    """How many consents the citizen has left."""
    return (
        db.session.scalar(
            select(func.count(SubscribeConsent.id)).where(
                SubscribeConsent.citizen_id == citizen.id, SubscribeConsent.state == ConsentState.AVAILABLE.value
            )
        )
        or 0
    )


def notify_progress(incident_id: int, timeline_entry_id: int) -> None:
    """Send one subscribe message for a progress step, spending one consent; safe to run twice."""
    incident = db.session.get(Incident, incident_id)
    entry = db.session.get(TimelineEntry, timeline_entry_id)
    if incident is None or entry is None or entry.public_note is None:
        db.session.rollback()
        return
    status = IncidentStatus(entry.status).label if entry.status else incident.state.label
    values = [incident.number, status, entry.public_note, entry.at]
    page = texts.PROGRESS_PAGE.format(incident_id=incident.id)
    _send(incident, values, page, action="miniapp.progress_sent", timeline_entry_id=entry.id)


def notify_chat_message(chat_message_id: int) -> None:
    """Tell a mini-program citizen an officer wrote to them (spending one consent), and record on the message
    whether it reached them, so the officer knows when to call instead; safe to run twice."""
    message = db.session.get(ChatMessage, chat_message_id)
    if (
        message is None
        or message.sender_kind != SenderKind.OFFICER.value
        or message.delivered_at is not None
        or message.undelivered_reason is not None
        or message.incident.channel != Channel.MINIAPP.value
    ):
        db.session.rollback()
        return
    incident = message.incident
    values = [incident.number, texts.PUSH_CHAT_STATUS, message.body, message.at]
    page = texts.CHAT_PAGE.format(incident_id=incident.id)
    spent_on = f"chat:{message.id}"
    outcome = _send(incident, values, page, action="miniapp.chat_sent", spent_on=spent_on)
    sent_before = outcome == Outcome.ALREADY and db.session.scalar(
        select(SubscribeConsent.id).where(
            SubscribeConsent.spent_on == spent_on, SubscribeConsent.state == ConsentState.SENT.value
        )
    )
    if outcome == Outcome.SENT or sent_before:  # a run that died after the send still gets its delivery recorded
        chat.mark_delivered(message_id=chat_message_id, via="subscribe")
    elif outcome == Outcome.UNREACHABLE:
        chat.mark_undelivered(message_id=chat_message_id, reason=Undelivered.NO_CONSENT)


def notify_complaint_answer(complaint_id: int) -> None:
    """Tell a mini-program complainant the answer to their complaint, spending one consent; safe to run twice."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or complaint.answer is None or complaint.incident.channel != Channel.MINIAPP.value:
        db.session.rollback()
        return
    values = [complaint.number, texts.PUSH_COMPLAINT_STATUS, complaint.answer, complaint.answered_at]
    page = texts.COMPLAINT_PAGE.format(complaint_id=complaint.id)
    answered = int(complaint.answered_at.timestamp())  # a complaint answered again after reopening is told again
    _send(
        complaint.incident,
        values,
        page,
        action="miniapp.complaint_answer_sent",
        spent_on=f"complaint:{complaint.id}:{answered}",
    )


class Outcome(StrEnum):
    SENT = "sent"
    UNREACHABLE = "unreachable"  # no template, no mini-program openid, or no consent left: nothing was sent
    ALREADY = "already"  # sent, refused or claimed by an earlier run of the same job


def _send(
    incident: Incident,
    values: list,
    page: str,
    *,
    action: str,
    timeline_entry_id: int | None = None,
    spent_on: str | None = None,
) -> Outcome:
    """Spend one consent of the incident's citizen on one subscribe message (what it is for names it: a
    timeline entry or `spent_on`, both unique, so no run of a job ever sends twice)."""
    template_id = current_app.config.get("MINIAPP_PROGRESS_TEMPLATE_ID")
    openid = incident.citizen.miniapp_openid
    if not template_id or not openid:
        db.session.rollback()
        return Outcome.UNREACHABLE
    taken = (
        SubscribeConsent.timeline_entry_id == timeline_entry_id
        if timeline_entry_id is not None
        else SubscribeConsent.spent_on == spent_on
    )
    if db.session.scalar(select(SubscribeConsent.id).where(taken)) is not None:
        # Already sent, refused, or claimed by a run that died mid-send: never risk a second message.
        db.session.rollback()
        return Outcome.ALREADY
    message = _message(values)
    consent = _claim(incident, template_id, timeline_entry_id=timeline_entry_id, spent_on=spent_on)
    if consent is None:
        return Outcome.UNREACHABLE
    try:
        wechat_client("miniapp").send_subscribe_message(openid, template_id, message, page=page)
    except WeChatError as exc:
        if exc.errcode == NO_CONSENT:
            _refused(consent.id, incident.citizen_id, template_id, exc, action.replace("_sent", "_refused"))
            return Outcome.UNREACHABLE
        _release(consent.id)
        raise
    except Exception:
        _release(consent.id)
        raise
    _finish(consent.id, ConsentState.SENT, action, None)
    return Outcome.SENT


def _claim(
    incident: Incident, template_id: str, *, timeline_entry_id: int | None, spent_on: str | None
) -> SubscribeConsent | None:
    """Mark the best available consent (one for this incident first, then a general one) as being spent."""
    query = (
        select(SubscribeConsent)
        .where(
            SubscribeConsent.citizen_id == incident.citizen_id,
            SubscribeConsent.template_id == template_id,
            SubscribeConsent.state == ConsentState.AVAILABLE.value,
            or_(SubscribeConsent.incident_id.is_(None), SubscribeConsent.incident_id == incident.id),
        )
        .order_by(case((SubscribeConsent.incident_id == incident.id, 0), else_=1), SubscribeConsent.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    consent = db.session.scalar(query)
    if consent is None:
        db.session.rollback()
        return None
    consent.state = ConsentState.SENDING.value
    consent.timeline_entry_id = timeline_entry_id
    consent.spent_on = spent_on
    consent.used_at = clock.now()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another run claimed a consent for this same message
        return None
    return consent


def _release(consent_id: int) -> None:
    db.session.rollback()
    db.session.execute(
        update(SubscribeConsent)
        .where(SubscribeConsent.id == consent_id)
        .values(state=ConsentState.AVAILABLE.value, timeline_entry_id=None, spent_on=None, used_at=None)
    )
    db.session.commit()


def _refused(consent_id: int, citizen_id: int, template_id: str, error: WeChatError, action: str) -> None:
    """WeChat says none are left: this and every other recorded consent for the template are void."""
    db.session.rollback()
    db.session.execute(
        update(SubscribeConsent)
        .where(
            SubscribeConsent.citizen_id == citizen_id,
            SubscribeConsent.template_id == template_id,
            SubscribeConsent.state == ConsentState.AVAILABLE.value,
        )
        .values(state=ConsentState.REFUSED.value, error="voided by 43101")
    )
    _finish(consent_id, ConsentState.REFUSED, action, f"{error.errcode}: {error.errmsg}"[:500])
    log.info("subscribe message refused (no consent left) for citizen %s", citizen_id)


def _finish(consent_id: int, state: ConsentState, action: str, error: str | None) -> None:
    consent = db.session.get(SubscribeConsent, consent_id)
    consent.state = state.value
    consent.error = error
    audit.record(
        actor=ACTOR,
        action=action,
        subject=consent,
        detail={
            "timeline_entry_id": consent.timeline_entry_id,
            "spent_on": consent.spent_on,
            "template_id": consent.template_id,
        },
    )
    db.session.commit()


def _message(values: list) -> dict:
    """The template's fields: a number, a short status, a note and a time (WeChat's value lengths apply)."""
    fields = current_app.config["MINIAPP_PROGRESS_TEMPLATE_FIELDS"]
    number, status, note, at = values
    values = [number, status, note, clock.local(at).strftime("%Y-%m-%d %H:%M")]
    limits = [32, 5, 20, 32]  # WeChat's lengths for character_string / phrase / thing / time values
    return {name: _cut(value, limit) for name, value, limit in zip(fields, values, limits, strict=False)}


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
