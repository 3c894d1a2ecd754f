"""Delivering a warning's notices to officers: the console list (rows read by the console), a WeChat template
message to an officer whose WeChat is bound, and a text message through the app's pluggable SMS sender.

Delivery is an outbox job per notice (at least once); a notice already marked sent is never sent again.
"""

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update

import wechat
from casework import clock
from casework.db import db
from casework.models import Officer
from casework.unit_of_work import use_case
from supervision import settings, texts
from supervision.models import Colour, Notification, NotificationChannel, SubjectType, Warning

log = logging.getLogger(__name__)


def deliver(notification_id: int) -> None:
    """Send one WeChat or SMS notice unless it was sent already; a failure is raised for the queue's retry."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.sent_at is not None:
        db.session.rollback()
        return
    warning, officer = notification.warning, notification.officer
    channel = notification.channel
    fields = _fields(warning)
    db.session.rollback()  # hold no transaction while talking to WeChat or the SMS gateway
    if channel == NotificationChannel.WECHAT.value:
        template = settings.get("SUPERVISION_WARNING_TEMPLATE_ID")
        if not template or not officer.wechat_openid:
            return
        wechat.client("oa").send_template(officer.wechat_openid, template, fields)
    elif channel == NotificationChannel.SMS.value:
        if not officer.phone:
            return
        current_app.extensions["wx110.sms"].send(officer.phone, texts.SMS_WARNING.format(**fields))
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.sent_at.is_(None))
        .values(sent_at=clock.now())
    )
    db.session.commit()


def _fields(warning: Warning) -> dict:
    return {
        "colour": Colour(warning.colour).label,
        "point": warning.point.name,
        "subject": SubjectType(warning.subject_type).label,
        "number": warning.subject_number,
        "unit": warning.unit.name if warning.unit else "未分派",
        "due": texts.due_text(warning.rectify_due_at or warning.due_at),
    }


def unread_count(officer: Officer) -> int:
    """The badge in the console header: unread console notices of open warnings."""
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .join(Warning, Notification.warning_id == Warning.id)
        .where(
            Notification.officer_id == officer.id,
            Notification.channel == NotificationChannel.CONSOLE.value,
            Notification.read_at.is_(None),
            Warning.resolved_at.is_(None),
        )
    )


def of_officer(officer: Officer, *, limit: int = 100) -> list[Notification]:
    """An officer's console notices, newest first."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.officer_id == officer.id, Notification.channel == NotificationChannel.CONSOLE.value)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


@use_case
def mark_read(officer: Officer, *, now: datetime | None = None) -> int:
    """Mark the officer's console notices read (opening the list): a reading mark, not a change to audit."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.officer_id == officer.id,
            Notification.channel == NotificationChannel.CONSOLE.value,
            Notification.read_at.is_(None),
        )
        .values(read_at=now or clock.now())
    )
    return result.rowcount
