"""Outbound WeChat API: one client per app id, the access token shared across processes in Redis."""

from wechat.client import WeChatClient, WeChatError, client

__all__ = ["WeChatClient", "WeChatError", "client"]
