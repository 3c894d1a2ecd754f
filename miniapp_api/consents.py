"""Subscribe-message consents: record what wx.requestSubscribeMessage granted, and spend one per progress
step on a message telling the citizen their incident moved."""

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from casework import audit, clock
from casework.db import db
from casework.models import Citizen, Incident, System, TimelineEntry
from casework.status import IncidentStatus
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
    template_id = current_app.config.get("MINIAPP_PROGRESS_TEMPLATE_ID")
    incident = db.session.get(Incident, incident_id)
    entry = db.session.get(TimelineEntry, timeline_entry_id)
    if not template_id or incident is None or entry is None or entry.public_note is None:
        db.session.rollback()
        return
    openid = incident.citizen.miniapp_openid
    spent = db.session.scalar(select(SubscribeConsent.id).where(SubscribeConsent.timeline_entry_id == entry.id))
    if not openid or spent is not None:
        # Already sent, refused, or claimed by a run that died mid-send: never risk a second message.
        db.session.rollback()
        return
    consent = _claim(incident, entry, template_id)
    if consent is None:
        return
    try:
        wechat_client("miniapp").send_subscribe_message(
            openid, template_id, _message(incident, entry), page=texts.PROGRESS_PAGE.format(incident_id=incident.id)
        )
    except WeChatError as exc:
        if exc.errcode == NO_CONSENT:
            _refused(consent.id, incident.citizen_id, template_id, exc)
            return
        _release(consent.id)
        raise
    except Exception:
        _release(consent.id)
        raise
    _finish(consent.id, ConsentState.SENT, "miniapp.progress_sent", None)


def _claim(incident: Incident, entry: TimelineEntry, template_id: str) -> SubscribeConsent | None:
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
    consent.timeline_entry_id = entry.id
    consent.used_at = clock.now()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another run claimed a consent for this same step
        return None
    return consent


def _release(consent_id: int) -> None:
    db.session.rollback()
    db.session.execute(
        update(SubscribeConsent)
        .where(SubscribeConsent.id == consent_id)
        .values(state=ConsentState.AVAILABLE.value, timeline_entry_id=None, used_at=None)
    )
    db.session.commit()


def _refused(consent_id: int, citizen_id: int, template_id: str, error: WeChatError) -> None:
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
    _finish(consent_id, ConsentState.REFUSED, "miniapp.progress_refused", f"{error.errcode}: {error.errmsg}"[:500])
    log.info("subscribe message refused (no consent left) for citizen %s", citizen_id)


def _finish(consent_id: int, state: ConsentState, action: str, error: str | None) -> None:
    consent = db.session.get(SubscribeConsent, consent_id)
    consent.state = state.value
    consent.error = error
    audit.record(
        actor=ACTOR,
        action=action,
        subject=consent,
        detail={"timeline_entry_id": consent.timeline_entry_id, "template_id": consent.template_id},
    )
    db.session.commit()


def _message(incident: Incident, entry: TimelineEntry) -> dict:
    status = IncidentStatus(entry.status).label if entry.status else incident.state.label
    fields = current_app.config["MINIAPP_PROGRESS_TEMPLATE_FIELDS"]
    values = [incident.number, status, entry.public_note, clock.local(entry.at).strftime("%Y-%m-%d %H:%M")]
    limits = [32, 5, 20, 32]  # WeChat's lengths for character_string / phrase / thing / time values
    return {name: _cut(value, limit) for name, value, limit in zip(fields, values, limits, strict=False)}


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
