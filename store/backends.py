"""The two places short-lived state can live: Redis (shared by every process) or one process's memory.

Both answer the same operations, and neither ever raises on a Redis fault: while Redis is unreachable, values
live in the process's memory and `count` answers None ("cannot tell"), which the rate limiter takes as "let it
through". What is kept here is a fast path or a convenience (the bot's reply cache, nonces and conversation
steps; the database stays the lasting guard). Keys are strings, values are text, and every value expires.
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


class NotShared(Exception):
    """The shared store (Redis) cannot answer now: what this process remembers is not a shared answer."""


class Store(Protocol):
    def get(self, key: str) -> str | None: ...

    def get_many(self, keys: list[str]) -> list[str | None]: ...

    def set(self, key: str, value: str, ttl: int) -> None: ...

    def add(self, key: str, value: str, ttl: int) -> str | None: ...

    def add_shared(self, key: str, value: str, ttl: int) -> str | None: ...

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

    def get_many(self, keys: list[str]) -> list[str | None]:
        """The values under `keys`, in their order (None for each missing or expired one)."""
        with self.lock:
            return [self._live(key) for key in keys]

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

    def add_shared(self, key: str, value: str, ttl: int) -> str | None:
        """One process's memory is never shared: always NotShared (the caller decides elsewhere)."""
        raise NotShared("no shared store configured")

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
    """State in Redis, shared by every process. Give it a client with short timeouts and no retries.

    While Redis is unreachable, values are kept in this process's memory instead (short-lived state kept by one
    process is better than none: a replayed nonce is still refused there) and counts answer None. After a
    failure Redis is left alone for `pause` seconds, so that a request does not wait for a connect timeout on
    every call and the log gets one warning, not one per call.
    """

    def __init__(self, redis: Redis, prefix: str = PREFIX, *, pause: float = 1.0, clock=time.monotonic):
        self.redis = redis
        self.prefix = prefix
        self.pause = pause
        self.clock = clock
        self.fallback = MemoryStore(clock=clock)
        self.down_until = 0.0

    def get(self, key: str) -> str | None:
        return self._either("get", lambda: _text(self.redis.get(self.prefix + key)), lambda: self.fallback.get(key))

    def get_many(self, keys: list[str]) -> list[str | None]:
        """Several values in one round trip (MGET), in the order of `keys`."""
        if not keys:
            return []
        return self._either(
            "get",
            lambda: [_text(value) for value in self.redis.mget([self.prefix + key for key in keys])],
            lambda: self.fallback.get_many(keys),
        )

    def set(self, key: str, value: str, ttl: int) -> None:
        def in_redis():
            if ttl <= 0:
                self.redis.delete(self.prefix + key)
            else:
                self.redis.set(self.prefix + key, value, ex=ttl)

        self._either("set", in_redis, lambda: self.fallback.set(key, value, ttl))

    def add(self, key: str, value: str, ttl: int) -> str | None:
        return self._either(
            "add", lambda: self._add_in_redis(key, value, ttl), lambda: self.fallback.add(key, value, ttl)
        )

    def add_shared(self, key: str, value: str, ttl: int) -> str | None:
        """Like `add`, but only Redis answers: NotShared when it is unreachable (no fallback to memory), for a
        caller that must not take one process's memory for the shared truth (the bot's replay guard)."""

        def unreachable():
            raise NotShared("redis is unreachable")

        return self._either("add", lambda: self._add_in_redis(key, value, ttl), unreachable)

    def _add_in_redis(self, key: str, value: str, ttl: int) -> str | None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.prefix + key, value, ex=ttl, nx=True)
        pipe.get(self.prefix + key)
        was_set, current = pipe.execute()
        return None if was_set else _text(current)

    def delete(self, key: str) -> None:
        self._either("delete", lambda: self.redis.delete(self.prefix + key), lambda: self.fallback.delete(key))

    def count(self, key: str, ttl: int) -> tuple[int, int] | None:
        def in_redis():
            pipe = self.redis.pipeline(transaction=True)  # MULTI: the counter never lives without its expiry
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, ttl, nx=True)
            pipe.ttl(self.prefix + key)
            used, _, left = pipe.execute()
            return int(used), max(1, int(left))

        # No memory fallback: one process's count would refuse a citizen that the shared limit would not.
        return self._either("count", in_redis, lambda: None)

    def _either(self, operation: str, in_redis, in_memory):
        if self.clock() >= self.down_until:
            try:
                return in_redis()
            except (RedisError, OSError) as exc:
                self.down_until = self.clock() + self.pause
                log.warning(
                    "store: redis %s failed (%s); using process memory for %ss",
                    operation,
                    type(exc).__name__,
                    self.pause,
                )
        return in_memory()


def _text(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None
