"""`flask wechat ...`: commands for trying the WeChat side without WeChat."""

import time

import click
from flask.cli import AppGroup

from wechat.fake import FakeWeChat

wechat_cli = AppGroup("wechat", help="WeChat tools: the loopback fake API, signed test messages.")


@wechat_cli.command("fake-api")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True)
def fake_api(host: str, port: int):
    """Serve the loopback fake of WeChat's API (point WECHAT_API_BASE at it)."""
    fake = FakeWeChat().start(host, port)
    click.echo(f"fake WeChat API on {fake.base_url} (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
