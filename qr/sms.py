"""Text messages to web reporters, through a pluggable sender chosen by SMS_SENDER.

A sender is anything with `send(phone: str, text: str) -> None`. `log` (the default) sends nothing: it writes the
message to the application log as a warning (visible in the demo), with the number masked, for development and
for deployments without an SMS gateway; a deployment names its own as `package.module:factory`, where
`factory(app)` returns the sender. What the reporter is told follows what happened (`Outcome`).
"""

import importlib
import logging
from enum import StrEnum
from typing import Protocol

from flask import Flask, current_app

from casework.privacy import mask_phone

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class Outcome(StrEnum):
    SENT = "sent"  # handed to the SMS gateway
    NOT_CONFIGURED = "not_configured"  # no gateway (SMS_SENDER=log): nothing was sent
    FAILED = "failed"  # the gateway refused or failed


class LoggingSender:
    """Sends nothing: writes each message to the log instead (the number masked, the text whole)."""

    delivers = False  # a reporter is never told that a text went out

    def __init__(self):
        self.sent: list[tuple[str, str]] = []  # what this process would have sent, for the demo and tests

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))
        log.warning("sms NOT sent (no SMS gateway, SMS_SENDER=log) to %s: %s", mask_phone(phone), text)


def init_app(app: Flask) -> None:
    choice = (app.config.get("SMS_SENDER") or "log").strip()
    if choice == "log":
        app.extensions["wx110.sms"] = LoggingSender()
        return
    module_name, _, factory = choice.partition(":")
    if not factory:
        raise ValueError("SMS_SENDER is `log` or `package.module:factory`")
    app.extensions["wx110.sms"] = getattr(importlib.import_module(module_name), factory)(app)


def sender() -> Sender:
    return current_app.extensions["wx110.sms"]


def send(phone: str, text: str) -> Outcome:
    """Send one text, and say what happened; a failing gateway is logged, never shown to the reporter as a failed
    report."""
    chosen = sender()
    try:
        chosen.send(phone, text)
    except Exception:
        log.exception("sms to %s failed", mask_phone(phone))
        return Outcome.FAILED
    return Outcome.SENT if getattr(chosen, "delivers", True) else Outcome.NOT_CONFIGURED
