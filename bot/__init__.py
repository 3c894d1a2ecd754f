"""The WeChat official account: the callback, the message handlers and the jobs that talk back."""

from flask import Flask

from bot import handlers, outbound  # noqa: F401 - registering handlers and outbox jobs
from bot.callback import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
