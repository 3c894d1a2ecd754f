"""The handlers, one small module per concern; importing this package registers them all."""

from bot.handlers import account, asking, reporting  # noqa: F401
