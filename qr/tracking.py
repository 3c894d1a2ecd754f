"""The web reporter's tracking page `/t/<signed id>`: the public timeline of their report, and a form to add a
message to it (as the reporter).

The link carries the incident id signed with SECRET_KEY and a timestamp, so it cannot be made for another report;
a forged, altered or expired link, or one for a report that no longer exists, answers the same 404 page.
"""

import secrets

from flask import Blueprint, current_app, make_response, render_template, request, url_for
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from casework import chat, clock, queries
from casework.db import db
from casework.errors import InvalidInput
from casework.models import ChatMessage, Incident, SenderKind
from casework.status import Channel
from qr import texts
from store import limits

FORM_MAX_AGE = 2 * 3600


def register(pages: Blueprint) -> None:
    pages.add_url_rule("/t/<path:signed>", "tracking", tracking, methods=["GET"])
    pages.add_url_rule("/t/<path:signed>", "tracking_message", add_message, methods=["POST"])


class _ClockSigner(TimestampSigner):
    """Signs with the service's clock (so expiry follows `clock`, which tests can move)."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _links() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="wx110.qr.tracking", signer=_ClockSigner)


def _forms() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="wx110.qr.tracking-form")


def link_for(incident: Incident) -> str:
    """The absolute tracking link of a web report."""
    signed = _links().dumps({"i": incident.id})
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("qr.tracking", signed=signed)


def _incident(signed: str) -> Incident | None:
    max_age = current_app.config["WEB_TRACKING_DAYS"] * 86400
    try:
        data = _links().loads(signed, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        return None
    incident = db.session.get(Incident, data["i"])
    if incident is None or incident.channel != Channel.WEB.value:
        return None
    return incident


def _not_found():
    return make_response(render_template("qr/invalid_tracking.html", texts=texts), 404)


def tracking(signed: str):
    incident = _incident(signed)
    if incident is None:
        return _not_found()
    chat.mark_shown_on_tracking_page(incident=incident)  # the page shows every officer's message to the reporter
    return _page(incident, signed)


def add_message(signed: str):
    incident = _incident(signed)
    if incident is None:
        return _not_found()
    nonce = _form_nonce(request.form.get("form_token", ""), incident.id)
    if nonce is None:
        return _page(incident, signed, error=texts.FORM_EXPIRED, status=400)
    if not limits.allows(f"qr:tracking:{incident.id}", current_app.config["QR_WEB_REPORT_LIMIT"]):
        return _page(incident, signed, error=texts.TOO_MANY, status=429)
    try:
        chat.add_message(
            incident=incident, actor=incident.citizen, body=request.form.get("body", ""), source_msg_id=f"web:{nonce}"
        )
    except InvalidInput as error:
        return _page(incident, signed, error=error.message, status=400)
    return _page(incident, signed, sent=True)


def _form_nonce(signed: str, incident_id: int) -> str | None:
    try:
        data = _forms().loads(signed, max_age=FORM_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("i") != incident_id or not isinstance(data.get("n"), str):
        return None
    return data["n"]


def _page(incident: Incident, signed: str, *, error: str | None = None, sent: bool = False, status: int = 200):
    messages = db.session.scalars(
        db.select(ChatMessage).where(ChatMessage.incident_id == incident.id).order_by(ChatMessage.id)
    ).all()
    body = render_template(
        "qr/tracking.html",
        texts=texts,
        incident=incident,
        entries=[(f"{clock.local(e.at):%m-%d %H:%M}", e.public_note) for e in queries.public_timeline(incident)],
        messages=messages,
        citizen_kind=SenderKind.CITIZEN.value,
        signed=signed,
        form_token=_forms().dumps({"i": incident.id, "n": secrets.token_urlsafe(16)}),
        error=error,
        sent=sent,
        draft=request.form.get("body", "") if error else "",
    )
    return make_response(body, status)
