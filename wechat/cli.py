"""`flask wechat ...`: commands for trying the WeChat side without WeChat."""

import time

import click
import requests
from flask import current_app
from flask.cli import AppGroup

from wechat import simulator
from wechat.fake import FakeWeChat

wechat_cli = AppGroup("wechat", help="WeChat tools: the loopback fake API, signed test messages.")


@wechat_cli.command("fake-api")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True)
@click.option("--fd", type=int, default=None, help="Serve on this bound, listening socket (handed over by a parent).")
def fake_api(host: str, port: int, fd: int | None):
    """Serve the loopback fake of WeChat's API (point WECHAT_API_BASE at it)."""
    fake = FakeWeChat().start(host, port, fd=fd)
    click.echo(f"fake WeChat API on {fake.base_url} (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


@wechat_cli.command("send")
@click.argument("kind")
@click.argument("value", required=False, default="")
@click.option("--from", "openid", default="o-demo-citizen", show_default=True, help="The sender's openid.")
@click.option(
    "--mode",
    type=click.Choice(["plain", "compatible", "safe"]),
    default=None,
    help="Encryption mode (default: safe when WECHAT_AES_KEY is set, else plain).",
)
@click.option("--url", default=None, help="The callback (default: PUBLIC_BASE_URL + /wechat).")
@click.option("--media-id", default="", help="For image/voice/video/shortvideo.")
@click.option("--recognition", default="", help="For voice: WeChat's speech-recognition text.")
@click.option("--label", default="", help="For location: the place name.")
@click.option("--title", default="", help="For link: the title.")
@click.option("--lat", type=float, default=0.0, help="For the LOCATION event.")
@click.option("--lon", type=float, default=0.0, help="For the LOCATION event.")
@click.option("--msg-id", type=int, default=None, help="Reuse a MsgId to see how a retry is answered.")
def send(kind, value, openid, mode, url, media_id, recognition, label, title, lat, lon, msg_id):
    """Sign and post a message or event to the callback as WeChat would, and print the reply.

    KIND is text, image, voice, video, shortvideo, location ("lat,lon"), link (URL), or an event: subscribe
    [scene], unsubscribe, scan SCENE, location-event (--lat/--lon), click KEY, scancode URL, or any other event
    name. Examples: `flask wechat send text "有人打架"`, `flask wechat send click MY_REPORTS`.
    """
    config = current_app.config
    if not config.get("WECHAT_TOKEN"):
        raise click.UsageError("set WECHAT_TOKEN (and WECHAT_AES_KEY, WECHAT_APPID for safe mode) first")
    keys = simulator.Keys(config["WECHAT_TOKEN"], config["WECHAT_AES_KEY"], config["WECHAT_APPID"])
    mode = mode or ("safe" if len(keys.aes_key) == 43 else "plain")
    events = {"subscribe", "unsubscribe", "scan", "click", "view", "scancode", "location-event"}
    if kind in events or kind not in ("text", "image", "voice", "video", "shortvideo", "location", "link"):
        name = {"scancode": "scancode_waitmsg", "location-event": "LOCATION"}.get(kind, kind)
        fields = simulator.event(name, openid, value, latitude=lat, longitude=lon)
    else:
        fields = simulator.message(
            kind, openid, value, msg_id=msg_id, media_id=media_id, recognition=recognition, label=label, title=title
        )
    query, body = simulator.signed(fields, keys, mode=mode)
    target = url or config["PUBLIC_BASE_URL"].rstrip("/") + "/wechat"
    response = requests.post(
        target, params=query, data=body, timeout=10, headers={"Content-Type": "text/xml; charset=utf-8"}
    )
    click.echo(f"HTTP {response.status_code} ({mode} mode)")
    reply = simulator.read_reply(response.text, keys) if response.ok else response.text
    if isinstance(reply, dict):
        click.echo(reply.get("Content", reply))
    else:
        click.echo(reply)
