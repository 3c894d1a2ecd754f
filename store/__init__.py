"""Short-lived shared state with expiry, and the one rate limiter built on it.

Redis when the app has one (`app.extensions["wx110.redis"]`, set by the server's wiring, or handed to
`init_app`), else process memory (the embedded mode without REDIS_URL). It fails soft: a Redis fault never
raises to the caller (see `store.backends`), so nothing on a request path waits on retries or breaks because
Redis is down. This package never imports the domain, a channel or the server.
"""

from store.backends import MemoryStore, NotShared, RedisStore, Store
from store.limits import Limited, Rule, allows, hit
from store.scope import init_app, state, state_of

__all__ = [
    "Limited",
    "MemoryStore",
    "NotShared",
    "RedisStore",
    "Rule",
    "Store",
    "allows",
    "hit",
    "init_app",
    "state",
    "state_of",
]
