"""Shared fixtures: an app on a real, migrated database (SQLite and PostgreSQL), real Redis, and actors."""

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import make_url, select, text

from casework import citizens, clock, seed
from casework.db import db
from casework.models import OutboxMessage
from server import create_app
from server.jobs import QUEUES
from tests import services
from wechat.fake import FakeWeChat

pytest_plugins = ["tests.miniapp_support"]  # mini-program fixtures: live_server, fake_wechat

BACKENDS = [b.strip() for b in os.environ.get("WX110_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]
_SQLITE_DIR = tempfile.mkdtemp(prefix="wx110-test-")
# The processes a test starts read the settings the test gives them (and the env file it names in WX110_ENV_FILE,
# which the app loads itself), never the checkout's own `.env` that `./wx110 demo` writes, through Flask's CLI.
os.environ["FLASK_SKIP_DOTENV"] = "1"
_migrated: set[str] = set()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "expect_job_failures: the test means a job to raise or an outbox message to be left failed "
        "(without it, either fails the test at teardown)",
    )
    config.addinivalue_line(
        "markers",
        "needs_postgresql: the test proves something only on PostgreSQL (concurrency, advisory locks, "
        "triggers); it runs there alone, and a run that leaves PostgreSQL out says so (and fails under CI)",
    )
    config.addinivalue_line(
        "markers",
        "faults: the fault suite (its own PostgreSQL and Redis, killed and stopped under load); part of the default "
        "run, `-m 'not faults'` leaves it out",
    )
    left_out = services.left_out_by_setting(BACKENDS)
    if left_out:
        if services.IN_CI:
            pytest.exit(f"CI=true and {left_out}", returncode=3)
        services.SKIPPED["postgresql"] = left_out
    if services.IN_CI and not hasattr(config, "workerinput"):
        # The run's own process checks every service before any test: a parallel worker that stopped on a missing
        # one would only crash, with the reason lost.
        for service, problem in services.preflight():
            pytest.exit(f"CI=true and {service} is not available: {problem}", returncode=3)


def pytest_runtest_logreport(report):
    """A test skipped for a missing service, in this process or a parallel worker: remembered for the banner."""
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        service, found, problem = reason.partition(" not available: ")
        if found and service in services.SERVICES:
            services.SKIPPED.setdefault(service, problem)


def pytest_collection_modifyitems(config, items):
    # A PostgreSQL-only test is not collected for SQLite at all (it would prove nothing there).
    kept = [
        item for item in items if not (item.get_closest_marker("needs_postgresql") and _param_backend(item) == "sqlite")
    ]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    # The longest file first: a parallel run hands files out in this order, and the fault suite (minutes on one
    # worker) started last would leave the other workers idle at the end.
    kept.sort(key=lambda item: 0 if item.get_closest_marker("faults") else 1)  # stable: the rest keep their order
    items[:] = kept


def _param_backend(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("backend") if callspec else None


def pytest_terminal_summary(terminalreporter):
    for service, problem in services.SKIPPED.items():
        terminalreporter.write_sep(
            "!", f"{service.upper()} NOT AVAILABLE - ITS TESTS WERE SKIPPED", red=True, bold=True
        )
        terminalreporter.write_line(f"  {problem}")
        terminalreporter.write_line("  Start it (see README) and run the tests again; CI never skips these.")


def database_uri(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{Path(_SQLITE_DIR) / f'wx110-{services.SLOT}.sqlite3'}"
    services.require("postgresql", services.postgres_problem())
    return services.pg_url()


_background_wechat: FakeWeChat | None = None


def background_wechat() -> str:
    """The fake WeChat of apps built without one of their own: no test may ever reach api.weixin.qq.com."""
    global _background_wechat
    if _background_wechat is None:
        _background_wechat = FakeWeChat().start()
    return _background_wechat.base_url


def base_config(backend: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "WECHAT_API_BASE": background_wechat(),
        "SQLALCHEMY_DATABASE_URI": database_uri(backend),
        "REDIS_URL": None,
        "SECRET_KEY": "test-secret",
        "MEDIA_ROOT": str(Path(_SQLITE_DIR) / "media"),
        "PUBLIC_BASE_URL": "http://testserver",
        # Each app its own: a checkpoint left by another test's chain would read as a truncated tail.
        "AUDIT_CHECKPOINT_DIR": tempfile.mkdtemp(prefix="audit-", dir=_SQLITE_DIR),
    }
    config.update(overrides)
    return config


def _prepare(backend: str, *, seeded: bool) -> None:
    """Give the next test a database as a fresh one: migrated, and with the demo world when `seeded`.

    The first time in a process, the database is migrated and two snapshots are taken, empty and seeded (a
    PostgreSQL database used as a TEMPLATE, a copy of the SQLite file), by an app of the plain test configuration
    (in-process jobs, so the seed's follow-ups are done before the picture is taken, whatever the first test's own
    configuration). Each test then starts from a clone of one of them instead of emptying every table and seeding
    the world again."""
    if backend not in _migrated:
        maker = create_app(base_config(backend))
        with maker.app_context():
            if backend == "postgresql":
                with db.engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE"))
                    connection.execute(text("CREATE SCHEMA public"))
            else:
                db.engine.dispose()
                Path(db.engine.url.database).unlink(missing_ok=True)
            upgrade()
            _empty(backend)  # what a test starts from: every table empty (rows a migration seeded included)
            db.session.remove()
            _snapshot(backend, "empty")
            seed.load_categories()
            seed.load_world()
            maker.extensions["wx110.dispatcher"].drain()
            db.session.remove()
            _snapshot(backend, "world")
        _migrated.add(backend)
    _restore(backend, "world" if seeded else "empty")


def _empty(backend: str) -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if backend == "postgresql":
            # audit_entry refuses TRUNCATE (migration 0011) for every role; the suite connects as a superuser,
            # and a superuser's session in replica mode fires no ordinary trigger. The app's role cannot do this.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                connection.execute(text(f"DELETE FROM {name}"))


def _snapshot_name(backend: str, kind: str) -> str:
    if backend == "postgresql":
        return f"{services.PG_DATABASE}_{kind}"
    return str(Path(_SQLITE_DIR) / f"snapshot-{services.SLOT}-{kind}.sqlite3")


def _snapshot(backend: str, kind: str) -> None:
    db.engine.dispose()
    if backend == "postgresql":
        with psycopg.connect(services.PG_ADMIN_URL, autocommit=True) as admin:
            # A template must have no session: one left by an earlier run's process is ended.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (services.PG_DATABASE,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{_snapshot_name(backend, kind)}"')
            admin.execute(f'CREATE DATABASE "{_snapshot_name(backend, kind)}" TEMPLATE "{services.PG_DATABASE}"')
    else:
        with sqlite3.connect(db.engine.url.database) as source, sqlite3.connect(_snapshot_name(backend, kind)) as copy:
            source.backup(copy)


def _restore(backend: str, kind: str) -> None:
    """The test's database becomes a clone of the snapshot (any connection left to it is ended first)."""
    if backend == "postgresql":
        with psycopg.connect(services.PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{services.PG_DATABASE}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{services.PG_DATABASE}" TEMPLATE "{_snapshot_name(backend, kind)}"')
    else:
        target = Path(make_url(database_uri(backend)).database)
        for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(_snapshot_name(backend, kind), target)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def postgresql_only(backend) -> str:
    """For tests marked needs_postgresql that build their own app: fails loudly if PostgreSQL is absent."""
    services.require("postgresql", services.postgres_problem())
    assert backend == "postgresql"
    return backend


@pytest.fixture
def make_app(backend, request):
    """Build an app on the test database of `backend`, migrated and emptied; extra config as keywords.

    At teardown, a job that raised in the in-process dispatcher, or an outbox message left with an error, fails
    the test unless it is marked `expect_job_failures`.
    """
    built = []

    def build(**overrides):
        seeded = "world" in request.fixturenames
        if not built:
            _prepare(backend, seeded=seeded)
        app = create_app(base_config(backend, **overrides))
        if not built:
            app.extensions["tests.seeded"] = seeded
        built.append(app)
        return app

    yield build
    failed: list[str] = []
    for app in built:
        dispatcher = app.extensions.get("wx110.dispatcher")
        if hasattr(dispatcher, "drain"):
            dispatcher.drain()  # no in-process job may outlive its test and touch the next one's tables
            failed += [
                f"in-process job for outbox message {mid} raised {error}"
                for mid, error in getattr(dispatcher, "failures", [])
            ]
        with app.app_context():
            db.session.remove()
            if app is built[0]:
                failed += _failed_outbox_messages()
            db.session.remove()
            db.engine.dispose()
    if failed and not request.node.get_closest_marker("expect_job_failures"):
        pytest.fail(
            "jobs failed during the test (mark it expect_job_failures if that is the point):\n  "
            + "\n  ".join(dict.fromkeys(failed)),
            pytrace=False,
        )


def _failed_outbox_messages() -> list[str]:
    try:
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.job, OutboxMessage.last_error).where(
                OutboxMessage.last_error.is_not(None), OutboxMessage.done_at.is_(None)
            )
        ).all()
    except Exception as exc:  # noqa: BLE001 - a test that broke the schema on purpose; say so, do not hide it
        db.session.rollback()
        return [f"could not read the outbox: {type(exc).__name__}: {exc}"]
    return [f"outbox message {row.id} ({row.job}) left failed: {row.last_error}" for row in rows]


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
    clash = services.claim_redis_database()
    if clash:
        pytest.exit(clash, returncode=3)  # flushing it would wipe another run's queues: never go on
    return services.REDIS_URL


@pytest.fixture
def redis(redis_url, request):
    """This slot's Redis database, flushed before and after; an rq job that failed in it fails the test."""
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    registries = [FailedJobRegistry(queue=Queue(name, connection=connection)) for name in QUEUES]
    failed = [
        f"rq job {job_id} on {registry.name} failed" for registry in registries for job_id in registry.get_job_ids()
    ]
    connection.flushdb()
    if failed and not request.node.get_closest_marker("expect_job_failures"):
        pytest.fail(
            "rq jobs failed during the test (mark it expect_job_failures if that is the point):\n  "
            + "\n  ".join(failed),
            pytrace=False,
        )


@pytest.fixture
def world(ctx):
    """The demo units, officers, categories and doorplates (no incidents): the app's database was cloned from the
    seeded snapshot (a test's second app shares the first one's database)."""
    if not ctx.extensions.get("tests.seeded"):
        seed.load_categories()
        seed.load_world()
    return seed


@pytest.fixture(autouse=True)
def _own_audit_checkpoints(monkeypatch):
    """Processes a test starts (workers, gunicorn, CLI commands) inherit a checkpoint directory of the test's own:
    the repository's default one would hold the heads of other tests' chains, which read as a truncated tail."""
    monkeypatch.setenv("AUDIT_CHECKPOINT_DIR", tempfile.mkdtemp(prefix="audit-proc-", dir=_SQLITE_DIR))


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


@pytest.fixture
def background_fake() -> FakeWeChat:
    """The fake WeChat behind apps built without one of their own (shared by the run: add, never count)."""
    background_wechat()
    return _background_wechat
