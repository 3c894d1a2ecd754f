"""`GET/POST /wechat`: the official account's server URL. Thin: verify, hand over to the inbox, answer."""

import logging

from flask import Blueprint, Response, current_app, request
from wechatpy.replies import TextReply

from bot import envelope, inbox, queued
from bot.replies import BUSY
from casework.db import db

log = logging.getLogger(__name__)
bp = Blueprint("bot", __name__)


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def plain_answer(reason: str, status: int) -> Response:
    """How /wechat answers a request it will not handle (refused, or an HTTP or domain error on this path): the
    short reason as plain text with the status; never JSON, a page or an encrypted reply."""
    return _text(reason, status)


def _refused(refusal: envelope.Refused) -> Response:
    # Never log the query string: it carries signatures.
    log.info("wechat callback refused (%s): %s", refusal.status, refusal.reason)
    return _text(refusal.reason, refusal.status)


@bp.get("/wechat")
def verify_url():
    """WeChat's server-URL check: echo `echostr` when the signature is right."""
    try:
        envelope.check_query(
            request.args, token=current_app.config["WECHAT_TOKEN"], window=current_app.config["WECHAT_REPLAY_WINDOW"]
        )
    except envelope.Refused as refusal:
        return _refused(refusal)
    echostr = request.args.get("echostr", "")
    if not echostr or len(echostr) > 256:
        return _text("missing echostr", 400)
    return _text(echostr)


@bp.post("/wechat")
def receive():
    """One message or event from WeChat; answered with a passive reply, or `success` (queued mode)."""
    try:
        opened = envelope.open_message(request)
    except envelope.Refused as refusal:
        return _refused(refusal)
    try:
        if current_app.config["WECHAT_REPLY_MODE"] == "queued":
            # Captured for a job, which pushes the reply; a retry of a captured message also gets `success`
            # (the pushed reply is on its way, and repeating it passively would say it twice).
            queued.keep(opened.data, opened.xml)
            reply = ""
        else:
            reply = inbox.answer(opened.msg, opened.data)
    except queued.NotKept:
        return _text("service unavailable", 503)  # after WeChat's 5 s: it retries; nothing claims it was kept
    except Exception:
        # The inbox already turns handler failures into BUSY; this is for the database being unreachable.
        log.exception("wechat callback failed")
        db.session.rollback()
        reply = inbox.BUSY
    if reply is inbox.BUSY:
        reply = BUSY
    if not reply:
        return _text("success")  # raw, never encrypted
    xml = TextReply(message=opened.msg, content=reply).render()
    return Response(envelope.seal(xml, opened), mimetype="application/xml")
