"""The app's store: built once per app from its Redis client (or memory), and handed out per namespace."""

from flask import Flask, current_app
from redis import Redis

from store.backends import MemoryStore, RedisStore, Store

EXTENSION = "wx110.store"


def init_app(app: Flask, redis: Redis | None = None) -> None:
    """Attach a store to `app`: Redis when given one (or the app has one), else memory."""
    app.extensions[EXTENSION] = _build(app, redis)


def state(namespace: str) -> Store:
    """The current app's store, with every key under `namespace`."""
    return state_of(current_app, namespace)


def state_of(app: Flask, namespace: str) -> Store:
    """`app`'s store, with every key under `namespace`; for code that runs outside an app context."""
    found = app.extensions.get(EXTENSION)
    if found is None:  # built on first use, after the server's wiring has set up (or not) its Redis client
        found = app.extensions.setdefault(EXTENSION, _build(app))
    return Namespaced(found, f"{namespace}:")


def _build(app: Flask, redis: Redis | None = None) -> Store:
    redis = redis if redis is not None else app.extensions.get("wx110.redis")
    return RedisStore(redis) if redis is not None else MemoryStore()


class Namespaced:
    """One caller's part of the store (`bot:`, `rate:`), so that callers never collide on a key."""

    def __init__(self, inner: Store, prefix: str):
        self.inner = inner
        self.prefix = prefix

    def get(self, key: str) -> str | None:
        return self.inner.get(self.prefix + key)

    def get_many(self, keys: list[str]) -> list[str | None]:
        return self.inner.get_many([self.prefix + key for key in keys])

    def set(self, key: str, value: str, ttl: int) -> None:
        self.inner.set(self.prefix + key, value, ttl)

    def add(self, key: str, value: str, ttl: int) -> str | None:
        return self.inner.add(self.prefix + key, value, ttl)

    def add_shared(self, key: str, value: str, ttl: int) -> str | None:
        return self.inner.add_shared(self.prefix + key, value, ttl)

    def delete(self, key: str) -> None:
        self.inner.delete(self.prefix + key)

    def count(self, key: str, ttl: int) -> tuple[int, int] | None:
        return self.inner.count(self.prefix + key, ttl)
