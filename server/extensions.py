"""Shared extension objects; each is bound to an app in `create_app`."""

from flask import Flask, current_app
from flask_migrate import Migrate
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event

from casework.db import db

migrate = Migrate(render_as_batch=True, compare_type=True)

__all__ = ["db", "init_db", "migrate", "redis_client", "worker_redis"]


def init_db(app: Flask) -> None:
    """Bind the database; on SQLite, make every transaction take the write lock at BEGIN.

    SQLite's default deferred transactions let two writers read the same audit head or counter and then fail on
    upgrade; IMMEDIATE serialises writers up front, which is what PostgreSQL's row and advisory locks do there.
    """
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).update({"check_same_thread": False, "timeout": 30})
    else:
        _postgresql_options(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    if uri.startswith("sqlite"):
        with app.app_context():
            engine = db.engine

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgresql_options(app: Flask) -> None:
    """Pool sizes from the settings; behind a transaction pooler, no server-side prepared statements (psycopg
    prepares a statement run five times on one connection, and the next transaction may reach another server
    connection that does not know it)."""
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("pool_size", app.config["DATABASE_POOL_SIZE"])
    options.setdefault("max_overflow", app.config["DATABASE_MAX_OVERFLOW"])
    if app.config["DATABASE_TRANSACTION_POOLER"]:
        options.setdefault("connect_args", {})["prepare_threshold"] = None


def redis_client(app: Flask | None = None) -> Redis | None:
    """The request-path Redis connection (short timeouts, no retries), or None in in-process mode."""
    app = app or current_app
    return app.extensions.get("wx110.redis")


def make_redis(url: str, *, connect_timeout: float, socket_timeout: float | None) -> Redis:
    return Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


def worker_redis(app: Flask) -> Redis:
    """A connection for workers and schedulers: blocking reads, so no short read timeout."""
    return make_redis(app.config["REDIS_URL"], connect_timeout=5, socket_timeout=None)
