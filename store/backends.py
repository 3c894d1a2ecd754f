"""The two places short-lived state can live: Redis (shared by every process) or one process's memory.

Both answer the same five operations and neither ever raises on a Redis fault: a read answers "nothing there",
a write is dropped, `add` answers "not seen before" and `count` answers None ("cannot tell"), each logged. The
caller decides what that means for it (a rate limit lets the request through; the bot falls back to the
database). Keys are strings, values are text, and every value expires.
"""

import logging
import threading
import time
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "wx110:"
SWEEP_SECONDS = 60.0


class Store(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: int) -> None: ...

    def add(self, key: str, value: str, ttl: int) -> str | None: ...

    def delete(self, key: str) -> None: ...

    def count(self, key: str, ttl: int) -> tuple[int, int] | None: ...


class MemoryStore:
    """A dict with per-key expiry, for one process (the embedded mode without REDIS_URL, and the CLI)."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.entries: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()
        self.swept_at = clock()

    def get(self, key: str) -> str | None:
        """The value under `key`, or None when there is none or it has expired."""
        with self.lock:
            return self._live(key)

    def set(self, key: str, value: str, ttl: int) -> None:
        """Keep `value` under `key` for `ttl` seconds; a ttl of zero or less forgets the key."""
        with self.lock:
            if ttl <= 0:
                self.entries.pop(key, None)
                return
            self._sweep()
            self.entries[key] = (value, self.clock() + ttl)

    def add(self, key: str, value: str, ttl: int) -> str | None:
        """Set unless present; return the value already there (None when this call set it)."""
        with self.lock:
            existing = self._live(key)
            if existing is None and ttl > 0:
                self._sweep()
                self.entries[key] = (value, self.clock() + ttl)
            return existing

    def delete(self, key: str) -> None:
        with self.lock:
            self.entries.pop(key, None)

    def count(self, key: str, ttl: int) -> tuple[int, int]:
        """Add one to the counter under `key` (which expires `ttl` seconds after its first count); return the
        count and the whole seconds left until it expires."""
        with self.lock:
            now = self.clock()
            found = self.entries.get(key)
            if found is None or found[1] <= now:
                self._sweep()
                found = ("0", now + ttl)
            used = int(found[0]) + 1
            self.entries[key] = (str(used), found[1])
            return used, max(1, int(found[1] - now + 0.999))

    def _live(self, key: str) -> str | None:
        found = self.entries.get(key)
        if found is None:
            return None
        if found[1] <= self.clock():
            del self.entries[key]
            return None
        return found[0]

    def _sweep(self) -> None:
        """Drop expired entries now and then, so keys written once and never read again do not pile up."""
        now = self.clock()
        if now - self.swept_at < SWEEP_SECONDS:
            return
        self.swept_at = now
        for key in [key for key, (_, expires) in self.entries.items() if expires <= now]:
            del self.entries[key]


class RedisStore:
    """State in Redis, shared by every process. Give it a client with short timeouts and no retries."""

    def __init__(self, redis: Redis, prefix: str = PREFIX):
        self.redis = redis
        self.prefix = prefix

    def get(self, key: str) -> str | None:
        try:
            value = self.redis.get(self.prefix + key)
        except (RedisError, OSError) as exc:
            return _unavailable("get", exc)
        return value.decode() if value is not None else None

    def set(self, key: str, value: str, ttl: int) -> None:
        try:
            if ttl <= 0:
                self.redis.delete(self.prefix + key)
            else:
                self.redis.set(self.prefix + key, value, ex=ttl)
        except (RedisError, OSError) as exc:
            _unavailable("set", exc)

    def add(self, key: str, value: str, ttl: int) -> str | None:
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(self.prefix + key, value, ex=ttl, nx=True)
            pipe.get(self.prefix + key)
            was_set, current = pipe.execute()
        except (RedisError, OSError) as exc:
            return _unavailable("add", exc)
        return None if was_set else (current.decode() if current is not None else None)

    def delete(self, key: str) -> None:
        try:
            self.redis.delete(self.prefix + key)
        except (RedisError, OSError) as exc:
            _unavailable("delete", exc)

    def count(self, key: str, ttl: int) -> tuple[int, int] | None:
        try:
            pipe = self.redis.pipeline(transaction=True)  # MULTI: the counter never lives without its expiry
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, ttl, nx=True)
            pipe.ttl(self.prefix + key)
            used, _, left = pipe.execute()
        except (RedisError, OSError) as exc:
            return _unavailable("count", exc)
        return int(used), max(1, int(left))


def _unavailable(operation: str, exc: Exception) -> None:
    log.warning("store: redis %s failed (%s); carrying on without it", operation, type(exc).__name__)
    return None
