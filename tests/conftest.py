"""Shared fixtures: an app on a real, migrated database (SQLite and PostgreSQL), real Redis, and actors."""

import os
import tempfile
from pathlib import Path

import pytest
from flask_migrate import upgrade
from redis import Redis
from sqlalchemy import text

from casework import citizens, clock, seed
from casework.db import db
from server import create_app
from tests import services
from wechat.fake import FakeWeChat

pytest_plugins = ["tests.miniapp_support"]  # mini-program fixtures: live_server, fake_wechat

BACKENDS = [b.strip() for b in os.environ.get("WX110_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]
_SQLITE_DIR = tempfile.mkdtemp(prefix="wx110-test-")
_migrated: set[str] = set()


def pytest_terminal_summary(terminalreporter):
    for service, problem in services.SKIPPED.items():
        terminalreporter.write_sep("!", f"{service.upper()} NOT AVAILABLE - ITS TESTS WERE SKIPPED", red=True,
                                   bold=True)
        terminalreporter.write_line(f"  {problem}")
        terminalreporter.write_line("  Start it (see README) and run the tests again; CI never skips these.")


def database_uri(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{Path(_SQLITE_DIR) / f'wx110-{services.SLOT}.sqlite3'}"
    services.require("postgresql", services.postgres_problem())
    return services.pg_url()


def base_config(backend: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_uri(backend),
        "REDIS_URL": None,
        "SECRET_KEY": "test-secret",
        "MEDIA_ROOT": str(Path(_SQLITE_DIR) / "media"),
        "PUBLIC_BASE_URL": "http://testserver",
    }
    config.update(overrides)
    return config


def _migrate(app, backend: str) -> None:
    with app.app_context():
        if backend not in _migrated:
            if backend == "postgresql":
                with db.engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE"))
                    connection.execute(text("CREATE SCHEMA public"))
            else:
                db.engine.dispose()
                Path(db.engine.url.database).unlink(missing_ok=True)
            upgrade()
            _migrated.add(backend)
        _empty(backend)
        db.session.remove()


def _empty(backend: str) -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if backend == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                connection.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_app(backend):
    """Build an app on the test database of `backend`, migrated and emptied; extra config as keywords."""
    built = []

    def build(**overrides):
        app = create_app(base_config(backend, **overrides))
        if not built:
            _migrate(app, backend)
        built.append(app)
        return app

    yield build
    for app in built:
        dispatcher = app.extensions.get("wx110.dispatcher")
        if hasattr(dispatcher, "drain"):
            dispatcher.drain()  # no in-process job may outlive its test and touch the next one's tables
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def redis_url() -> str:
    services.require("redis", services.redis_problem())
    return services.REDIS_URL


@pytest.fixture
def redis(redis_url):
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def world(ctx):
    """The demo units, officers, categories and doorplates (no incidents)."""
    seed.load_categories()
    seed.load_world()
    return seed


@pytest.fixture(autouse=True)
def _release_clock():
    yield
    clock.freeze(None)


@pytest.fixture
def dispatcher(world):
    return world.officer("100001")


@pytest.fixture
def officer(world):
    return world.officer("100002")


@pytest.fixture
def supervisor(world):
    return world.officer("100005")


@pytest.fixture
def command_centre(world):
    """The province's dispatcher: the root of the unit tree sees every incident, routed or not."""
    return world.officer("100007")


@pytest.fixture
def citizen(ctx):
    return citizens.identify(oa_openid="openid-citizen-a", unionid="union-a")


@pytest.fixture
def other_citizen(ctx):
    return citizens.identify(oa_openid="openid-citizen-b")


@pytest.fixture
def fake():
    """The loopback fake of WeChat's API (a real HTTP server) that records what was sent to it."""
    server = FakeWeChat().start()
    yield server
    server.stop()


@pytest.fixture
def fake_wechat(fake):
    return fake
