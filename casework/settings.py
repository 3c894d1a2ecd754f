"""Configured values the domain rules read (deadlines, windows); defaults apply outside an app."""

from flask import current_app, has_app_context

DEFAULTS = {
    "COMPLAINT_ANSWER_DAYS": 7,
    "OUTBOX_STALE_SECONDS": 600,
    "OUTBOX_MAX_ATTEMPTS": 10,
    "OUTBOX_RELAY_GRACE_SECONDS": 5,
    "INCIDENT_DESCRIPTION_MAX": 2000,
    "CHAT_MESSAGE_MAX": 1000,
    "COMPLAINT_BODY_MAX": 2000,
    "QR_KEYS": "", "PUBLIC_BASE_URL": "http://127.0.0.1:5000",  # doorplate codes (casework.doorplates)
}


def get(name: str):
    """The app's value for `name`, or the domain default."""
    if has_app_context() and name in current_app.config:
        return current_app.config[name]
    return DEFAULTS[name]
