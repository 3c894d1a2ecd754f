"""A small fixed-window rate limit for the doorplate web form: Redis when configured, else in-process.

It fails open: if Redis is unreachable a report goes through, since turning away a report is worse than letting
a flood through for a moment.
"""

import threading
import time

from flask import current_app
from redis.exceptions import RedisError

_lock = threading.Lock()


def allow(key: str) -> bool:
    """Whether one more attempt under `key` fits QR_WEB_REPORT_LIMIT ("count/seconds", default 10 per 10 min)."""
    count, window = _limit()
    redis = current_app.extensions.get("wx110.redis")
    name = f"wx110:qr:rate:{key}"
    if redis is not None:
        try:
            pipe = redis.pipeline()
            pipe.incr(name)
            pipe.expire(name, window, nx=True)
            used = pipe.execute()[0]
            return used <= count
        except RedisError:
            return True
    now = time.monotonic()
    with _lock:
        windows = current_app.extensions.setdefault("wx110.qr.rate", {})
        started, used = windows.get(name, (now, 0))
        if now - started >= window:
            started, used = now, 0
        windows[name] = (started, used + 1)
        return used + 1 <= count


def _limit() -> tuple[int, int]:
    spec = str(current_app.config.get("QR_WEB_REPORT_LIMIT") or "10/600")
    count, _, seconds = spec.partition("/")
    return int(count), int(seconds or 600)
