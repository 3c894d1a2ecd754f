"""The WeChat official account: the callback, the message handlers and the jobs that talk back."""

from flask import Flask

from bot import handlers, outbound, queued  # noqa: F401 - registering handlers and outbox jobs
from bot.callback import bp

REPLY_MODES = ("inline", "queued")


def init_app(app: Flask) -> None:
    if app.config["WECHAT_REPLY_MODE"] not in REPLY_MODES:
        raise ValueError(f"WECHAT_REPLY_MODE must be one of {', '.join(REPLY_MODES)}")
    app.register_blueprint(bp)
