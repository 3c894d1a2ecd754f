"""The WeChat official account: the callback, the message handlers and the jobs that talk back."""

from flask import Flask

from bot import handlers, nonces, outbound, queued  # noqa: F401 - handlers: registering the message handlers
from bot.callback import bp
from casework import events
from casework.events import Event

REPLY_MODES = ("inline", "queued")


def init_app(app: Flask) -> None:
    if app.config["WECHAT_REPLY_MODE"] not in REPLY_MODES:
        raise ValueError(f"WECHAT_REPLY_MODE must be one of {', '.join(REPLY_MODES)}")
    app.register_blueprint(bp)
    events.subscribe(app, Event.EVIDENCE_ADDED, outbound.fetch_media, job="bot.fetch_media", queue="media")
    events.subscribe(
        app, Event.CHAT_MESSAGE_ADDED, outbound.push_chat_message, job="bot.push_chat_message", queue="notify"
    )
    events.subscribe(
        app, Event.INCIDENT_STATUS_CHANGED, outbound.push_progress, job="bot.push_progress", queue="notify"
    )
    events.subscribe(
        app, Event.EVIDENCE_FAILED, outbound.push_evidence_failed, job="bot.push_evidence_failed", queue="notify"
    )
    events.subscribe(
        app, Event.COMPLAINT_ANSWERED, outbound.push_complaint_answer, job="bot.push_complaint_answer", queue="notify"
    )
    events.job(app, "bot.handle_inbound", queued.handle_inbound, queue="inbound")
    events.periodic(app, "bot.sweep_nonces", nonces.sweep_expired, every=3600)
