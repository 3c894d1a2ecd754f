"""Per-citizen rate limits: a fixed-window counter in Redis that fails open.

A report must never be lost because Redis is down, so any Redis error lets the request through (and is
logged). In in-process mode (no REDIS_URL) a small in-memory window stands in.
"""

import logging
import threading
import time

from flask import current_app
from redis.exceptions import RedisError

from server.extensions import redis_client

log = logging.getLogger(__name__)

_memory_lock = threading.Lock()


class Limited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def parse(rule: str) -> tuple[int, int]:
    """'10/60' -> (10 requests, 60 seconds)."""
    count, seconds = rule.split("/")
    return int(count), int(seconds)


def hit(scope: str, subject: str | int) -> None:
    """Count one request of `subject` in `scope`; raise Limited when over the configured rule."""
    rule = current_app.config.get("MINIAPP_RATE_LIMITS", {}).get(scope)
    if not rule:
        return
    limit, window = parse(rule)
    bucket = int(time.time() // window)
    key = f"wx110:rl:{scope}:{subject}:{bucket}"
    retry_after = window - int(time.time() % window)
    client = redis_client()
    if client is None:
        count = _memory_hit(key, window)
    else:
        try:
            pipe = client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count = pipe.execute()[0]
        except (RedisError, OSError) as exc:
            log.warning("rate limit: redis unavailable (%s); letting the request through", type(exc).__name__)
            return
    if count > limit:
        raise Limited(retry_after)


def _memory_hit(key: str, window: int) -> int:
    """In-process mode's counter, kept per app (one process serves one app in that mode)."""
    _memory = current_app.extensions.setdefault("wx110.ratelimit_memory", {})
    now = time.monotonic()
    with _memory_lock:
        for stale in [k for k, (_, expires) in _memory.items() if expires < now]:
            del _memory[stale]
        count, expires = _memory.get(key, (0, now + window))
        _memory[key] = (count + 1, expires)
        return count + 1
