"""The WeChat simulator: a phone-shaped page that plays a citizen's WeChat, for the demo and the tests.

It exists only while WeChat is the loopback fake (`WECHAT_API_BASE` on 127.0.0.1 or localhost). The server signs
each message as WeChat's servers would (`wechat.simulator`), encrypted in safe mode when the app has an AES key (as
the demo has), and hands the browser the signed body, which the page posts to `/wechat` itself; the page has the
server open the answer (decrypted when sealed) and shows it as a chat bubble. The official account's menu, as
published to the fake (`flask wechat menu`), shows as buttons; every message the service pushes to that citizen
later is read back from the fake, which records them.
"""

import secrets
from urllib.parse import urlencode, urlsplit

import requests
from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import select

from casework.db import db
from casework.doorplates import token_for
from casework.models import Doorplate, DoorplateStatus
from console.views import csrf, headers
from wechat import simulator
from wechat.fake import sample_video

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
KINDS = ("text", "location", "scan", "video", "click")


def enabled() -> bool:
    """Whether WeChat is the loopback fake (never a real account's API)."""
    return urlsplit(current_app.config["WECHAT_API_BASE"]).hostname in LOOPBACK


bp = Blueprint("simulator", __name__, url_prefix="/console/simulator")
bp.after_request(headers)  # the console's CSP and headers


@bp.app_context_processor
def simulator_link() -> dict:
    """The console's navigation links the simulator while WeChat is the loopback fake (development, the demo)."""
    return {"simulator_enabled": request.path.startswith("/console") and enabled()}


@bp.before_request
def only_with_the_fake() -> None:
    """Absent (404) unless WeChat is the loopback fake; its one form carries the CSRF token."""
    if not enabled():
        abort(404)
    csrf.protect()


@bp.get("/")
def page():
    doorplates = db.session.scalars(
        select(Doorplate).where(Doorplate.status == DoorplateStatus.ACTIVE.value).order_by(Doorplate.code).limit(50)
    ).all()
    openid = request.args.get("openid") or "o-sim-" + secrets.token_hex(4)
    return render_template(
        "console/simulator.html", openid=openid[:64], doorplates=doorplates, menu=_menu(), safe=bool(_keys().aes_key)
    )


def _menu() -> list[dict]:
    """The published menu's top buttons with their click and scan buttons (a mini-program button opens nothing
    here); empty when no menu was published."""
    published = _fake("GET", "/fake/menu").json().get("menu") or {}
    shown = []
    for top in published.get("button", []):
        buttons = [b for b in top.get("sub_button", [top]) if b.get("type") in ("click", "scancode_waitmsg")]
        if buttons:
            shown.append({"name": top.get("name", ""), "buttons": buttons})
    return shown


def _keys() -> simulator.Keys:
    """The account's keys: with the AES key when the app has one (then every message is sent in safe mode)."""
    config = current_app.config
    aes_key = config.get("WECHAT_AES_KEY") or ""
    if len(aes_key) != 43:
        return simulator.Keys(config["WECHAT_TOKEN"])
    return simulator.Keys(config["WECHAT_TOKEN"], aes_key, config.get("WECHAT_APPID") or "")


@bp.post("/sign")
def sign():
    """The signed callback for one message of the chosen citizen: {"url", "body"} for the page to post."""
    openid = (request.form.get("openid") or "").strip()[:64]
    kind = request.form.get("kind", "")
    value = (request.form.get("value") or "").strip()
    if not openid or kind not in KINDS:
        abort(400)
    if kind == "text":
        if not value:
            abort(400)
        fields = simulator.message("text", openid, value)
    elif kind == "location":
        fields = simulator.message("location", openid, value or "30.2741,120.1551", label="模拟位置")
    elif kind == "scan":
        doorplate = db.session.scalar(select(Doorplate).where(Doorplate.code == value))
        if doorplate is None:
            abort(400)
        link = f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/d/{token_for(doorplate)}"
        fields = simulator.event("scancode_waitmsg", openid, link)
    elif kind == "click":
        if value not in {b.get("key") for top in _menu() for b in top["buttons"]}:
            abort(400)
        fields = simulator.event("click", openid, value)
    else:
        media_id = "SIM_VIDEO_" + secrets.token_hex(6)
        _fake("PUT", f"/fake/media/{media_id}", data=sample_video(), headers={"Content-Type": "video/mp4"})
        fields = simulator.message("video", openid, media_id=media_id)
    keys = _keys()
    query, body = simulator.signed(fields, keys, mode="safe" if keys.aes_key else "plain")
    return jsonify(url=f"/wechat?{urlencode(query)}", body=body.decode())


@bp.post("/open")
def open_reply():
    """The callback's answer as the citizen's WeChat shows it: {"text"} (decrypted when it came sealed)."""
    body = request.get_data(as_text=True)[:200_000]
    try:
        answer = simulator.read_reply(body, _keys())
    except Exception:  # noqa: BLE001 - whatever the answer was, the page shows that it could not be read
        return jsonify(text="(无法解读的回复)")
    if isinstance(answer, str):
        return jsonify(text="" if answer == "success" else answer)
    if answer.get("Content"):
        return jsonify(text=answer["Content"])
    articles = ((answer.get("Articles") or {}).get("item")) or []
    articles = articles if isinstance(articles, list) else [articles]
    return jsonify(text="\n".join(str(item.get("Title", "")) for item in articles))


@bp.get("/pushes")
def pushes():
    """What the service pushed to the citizen later (customer-service, template and subscribe messages)."""
    openid = (request.args.get("openid") or "").strip()[:64]
    sent = _fake("GET", "/fake/sent", params={"touser": openid}).json()["sent"] if openid else []
    return render_template("console/_pushes.html", pushes=[_shown(one) for one in sent], openid=openid)


def _fake(method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(method, current_app.config["WECHAT_API_BASE"].rstrip("/") + path, timeout=3, **kwargs)
    response.raise_for_status()
    return response


def _shown(call: dict) -> str:
    """One pushed message as the citizen's WeChat would show it."""
    body = call.get("body") or {}
    if "text" in body:
        return body["text"].get("content", "")
    data = body.get("data") or {}
    return " · ".join(str(part.get("value", "")) for part in data.values() if isinstance(part, dict))
