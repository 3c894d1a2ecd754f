"""Text messages to web reporters, through a pluggable sender chosen by SMS_SENDER.

A sender is anything with `send(phone: str, text: str) -> None`. `log` (the default) writes the message to the
application log with the number masked, for development and for deployments without an SMS gateway; a
deployment names its own as `package.module:factory`, where `factory(app)` returns the sender.
"""

import importlib
import logging
from typing import Protocol

from flask import Flask, current_app

from casework.privacy import mask_phone

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LoggingSender:
    """Writes each message to the log instead of sending it (the number masked, the text whole)."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []  # what this process "sent", for the demo and tests

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))
        log.info("sms to %s: %s", mask_phone(phone), text)


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


def send(phone: str, text: str) -> bool:
    """Send one text; a failing gateway is logged, never shown to the reporter as a failed report."""
    try:
        sender().send(phone, text)
    except Exception:
        log.exception("sms to %s failed", mask_phone(phone))
        return False
    return True
