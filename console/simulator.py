"""The WeChat simulator: a phone-shaped page that plays a citizen's WeChat, for the demo and the tests.

It exists only while WeChat is the loopback fake (`WECHAT_API_BASE` on 127.0.0.1 or localhost). The server signs
each message as WeChat's servers would (`wechat.simulator`) and hands the browser the signed XML, which the page
posts to `/wechat` itself; the answers show as chat bubbles, and every message the service pushes to that citizen
later is read back from the fake, which records them.
"""

import io
import secrets
from fractions import Fraction
from functools import cache
from urllib.parse import urlencode, urlsplit

import requests
from flask import Blueprint, abort, current_app, jsonify, render_template, request
from PIL import Image
from sqlalchemy import select

from casework.db import db
from casework.doorplates import token_for
from casework.models import Doorplate, DoorplateStatus
from console.views import csrf, headers
from wechat import simulator

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
KINDS = ("text", "location", "scan", "video")


def enabled() -> bool:
    """Whether WeChat is the loopback fake (never a real account's API)."""
    return urlsplit(current_app.config["WECHAT_API_BASE"]).hostname in LOOPBACK


bp = Blueprint("simulator", __name__, url_prefix="/console/simulator")
bp.after_request(headers)  # the console's CSP and headers


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
    return render_template("console/simulator.html", openid=openid[:64], doorplates=doorplates)


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
    else:
        media_id = "SIM_VIDEO_" + secrets.token_hex(6)
        _fake("PUT", f"/fake/media/{media_id}", data=sample_video(), headers={"Content-Type": "video/mp4"})
        fields = simulator.message("video", openid, media_id=media_id)
    keys = simulator.Keys(current_app.config["WECHAT_TOKEN"])
    query, body = simulator.signed(fields, keys, mode="plain")
    return jsonify(url=f"/wechat?{urlencode(query)}", body=body.decode())


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


@cache
def sample_video() -> bytes:
    """A one-second 160×120 H.264 MP4 (a colour sweep), made once per process."""
    import av  # only the simulator's video button needs the encoder

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.time_base = Fraction(1, 10)
        stream.options = {"preset": "ultrafast"}
        for index in range(10):
            frame = av.VideoFrame.from_image(Image.new("RGB", (160, 120), (index * 25 % 256, 80, 200)))
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
