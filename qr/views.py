"""The `/d/<token>` landing page of a doorplate with its web report form (the mini-program's doorplate lookup is
`miniapp_api.doorplate_routes`).

It ends in casework services: the form identifies the reporter by phone and calls `incidents.report` with the
doorplate; nothing here decides anything a service should. A bad, tampered or withdrawn code answers 404 with a
page that says so, before any form is shown or accepted.
"""

import logging
import secrets

from flask import Blueprint, Flask, current_app, make_response, render_template, request, send_file
from itsdangerous import BadSignature, URLSafeTimedSerializer

from casework import citizens, doorplates, incidents
from casework.errors import InvalidInput
from casework.models import Doorplate
from casework.privacy import mask_phone
from casework.status import Channel
from casework.unit_of_work import transaction
from qr import labels, links, sms, texts, tracking
from store import limits

log = logging.getLogger(__name__)

pages = Blueprint("qr", __name__, template_folder="templates")
tracking.register(pages)

FORM_MAX_AGE = 2 * 3600
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    sms.init_app(app)
    app.register_blueprint(pages)


@pages.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@pages.get("/d/-/font.otf")
def font():
    """The vendored CJK font, for browsers without a Chinese system font (listed last in the page's fonts)."""
    response = send_file(labels.VENDORED_FONT, mimetype="font/otf", max_age=30 * 86400)
    response.headers["Cache-Control"] = "public, max-age=2592000, immutable"
    return response


@pages.get("/d/<path:token>")
def landing(token: str):
    """What a plain scan of a doorplate's QR opens."""
    doorplate = _doorplate_or_none(token)
    if doorplate is None:
        return _invalid()
    return _form(doorplate, token)


@pages.post("/d/<path:token>")
def web_report(token: str):
    """The landing page's form: a report from outside WeChat, bound to the doorplate."""
    doorplate = _doorplate_or_none(token)
    if doorplate is None:
        return _invalid()
    form = request.form
    nonce = _form_nonce(form.get("form_token", ""), token)
    if nonce is None:
        return _form(doorplate, token, error=texts.FORM_EXPIRED, status=400)
    if form.get("website"):  # a field people never see: only a bot fills it
        log.info("web report honeypot hit at doorplate %s", doorplate.code)
        return _form(doorplate, token, error=texts.FORM_EXPIRED, status=400)
    # Keyed by doorplate as well as address: behind a proxy without ProxyFix every citizen shares one address,
    # and a city-wide bucket would turn real reports away.
    if not limits.allows(
        f"qr:web-report:{doorplate.id}:{request.remote_addr}", current_app.config["QR_WEB_REPORT_LIMIT"]
    ):
        return _form(doorplate, token, error=texts.TOO_MANY, status=429)
    try:
        with transaction():  # the reporter's first record and the report: one commit
            citizen = citizens.identify_by_phone(form.get("phone", ""))
            incident = incidents.report(
                citizen=citizen,
                channel=Channel.WEB,
                description=form.get("description", ""),
                doorplate=doorplate,
                source_msg_id=f"web:{nonce}",
            )
    except InvalidInput as error:
        return _form(doorplate, token, error=error.message, status=400)
    log.info("web report %s at doorplate %s by %s", incident.number, doorplate.code, mask_phone(citizen.phone))
    link = tracking.link_for(incident)
    texted = sms.send(citizen.phone, texts.SMS_RECEIVED.format(number=incident.number, url=link))
    return render_template(
        "qr/received.html", texts=texts, doorplate=doorplate, incident=incident, link=link, texted=texted
    )


def _doorplate_or_none(token: str) -> Doorplate | None:
    try:
        return doorplates.doorplate_from_token(token)
    except doorplates.InvalidToken:
        return None


def _invalid():
    return make_response(render_template("qr/invalid.html", texts=texts), 404)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="wx110.qr.web-report")


def _form_nonce(signed: str, token: str) -> str | None:
    """The nonce of a form token issued for this doorplate within the last two hours, or None.

    The nonce becomes the report's source id, so a double tap or a resent form records one incident.
    """
    try:
        data = _serializer().loads(signed, max_age=FORM_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("t") != token or not isinstance(data.get("n"), str):
        return None
    return data["n"]


def _form(doorplate: Doorplate, token: str, *, error: str | None = None, status: int = 200):
    form_token = _serializer().dumps({"t": token, "n": secrets.token_urlsafe(16)})
    body = render_template(
        "qr/landing.html",
        texts=texts,
        doorplate=doorplate,
        token=token,
        form_token=form_token,
        error=error,
        scheme_url=links.miniapp_scheme_url(doorplate),
        description=request.form.get("description", "") if error else "",
        phone=request.form.get("phone", "") if error else "",
    )
    return make_response(body, status)
