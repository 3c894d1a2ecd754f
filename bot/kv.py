"""Short-lived bot state (reply cache, nonces, conversations): Redis when configured, else process memory.

Every operation fails soft: if Redis is unreachable the bot carries on without its fast path, because the
database remains the lasting guard. In-process mode (no REDIS_URL) keeps the same state in a dict with expiry.
"""

import logging
import threading
import time

from flask import current_app
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
PREFIX = "wx110:bot:"


class MemoryStore:
    """A dict with per-key expiry, for one process (in-process mode and the CLI)."""

    def __init__(self):
        self.data: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def _live(self, key: str) -> str | None:
        found = self.data.get(key)
        if found is None:
            return None
        if found[1] < time.monotonic():
            del self.data[key]
            return None
        return found[0]

    def get(self, key: str) -> str | None:
        with self.lock:
            return self._live(key)

    def set(self, key: str, value: str, ttl: int) -> None:
        if ttl <= 0:  # a zero window means "do not remember"
            return self.delete(key)
        with self.lock:
            self.data[key] = (value, time.monotonic() + ttl)

    def add(self, key: str, value: str, ttl: int) -> str | None:
        """Set unless present; return the value already there (None when this call set it)."""
        with self.lock:
            existing = self._live(key)
            if existing is None:
                self.data[key] = (value, time.monotonic() + ttl)
            return existing

    def delete(self, key: str) -> None:
        with self.lock:
            self.data.pop(key, None)


class RedisStore:
    def __init__(self, redis):
        self.redis = redis

    def get(self, key: str) -> str | None:
        try:
            value = self.redis.get(PREFIX + key)
        except RedisError as exc:
            log.warning("bot: redis get failed (%s); carrying on without it", type(exc).__name__)
            return None
        return value.decode() if value is not None else None

    def set(self, key: str, value: str, ttl: int) -> None:
        if ttl <= 0:
            return self.delete(key)
        try:
            self.redis.set(PREFIX + key, value, ex=ttl)
        except RedisError as exc:
            log.warning("bot: redis set failed (%s)", type(exc).__name__)

    def add(self, key: str, value: str, ttl: int) -> str | None:
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(PREFIX + key, value, ex=ttl, nx=True)
            pipe.get(PREFIX + key)
            was_set, current = pipe.execute()
        except RedisError as exc:
            log.warning("bot: redis add failed (%s)", type(exc).__name__)
            return None
        return None if was_set else (current.decode() if current is not None else None)

    def delete(self, key: str) -> None:
        try:
            self.redis.delete(PREFIX + key)
        except RedisError as exc:
            log.warning("bot: redis delete failed (%s)", type(exc).__name__)


def store():
    """The app's bot state store."""
    app = current_app
    found = app.extensions.get("wx110.bot_kv")
    if found is None:
        redis = app.extensions.get("wx110.redis")
        found = app.extensions["wx110.bot_kv"] = RedisStore(redis) if redis is not None else MemoryStore()
    return found
