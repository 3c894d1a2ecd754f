"""Where the test suite finds PostgreSQL, Redis and the browser, and what it does when one is missing.

With CI=true a missing service fails the run, and so does a run that leaves one out by a setting
(WX110_TEST_DATABASES without postgresql); elsewhere its tests are skipped and the run says so loudly.

Parallel runs are kept apart by WX110_TEST_SLOT: each slot has its own PostgreSQL database, SQLite file and Redis
database (its rq queues and keys live there, so one slot's flushdb never touches another's). A slot claims its
Redis database for the whole run with a named connection; a second slot on the same database stops at once.
Under pytest-xdist every worker is a slot of its own (`<slot>-gw0`, `<slot>-gw1`, ...), with Redis databases
counted down from 14 for the default slot.
"""

import os
import shutil
import zlib
from functools import cache

import psycopg
import pytest
from redis import Redis

BASE_SLOT = os.environ.get("WX110_TEST_SLOT", "main")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... in a worker of a parallel run
SLOT = f"{BASE_SLOT}-{WORKER}" if WORKER else BASE_SLOT
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_DATABASE = f"wx110_test_{SLOT}"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"
_CLAIM_NAME = "wx110-test-slot-"


def _default_redis_url(slot: str, worker: str = "") -> str:
    """Database 15 for the default slot, 14, 13, ... for its parallel workers; any other slot gets one of 0-14 by
    its name, its workers the next ones (a clash is refused)."""
    index = int(worker.removeprefix("gw") or 0) if worker else -1
    if slot == "main":
        database = 15 if index < 0 else 14 - index % 15
    else:
        database = (zlib.crc32(slot.encode()) + max(index, 0)) % 15
    return f"redis://127.0.0.1:6379/{database}"


REDIS_URL = os.environ.get("TEST_REDIS_URL") or _default_redis_url(BASE_SLOT, WORKER)
_claim: Redis | None = None  # held open for the whole run: its name marks the database as this slot's
SKIPPED: dict[str, str] = {}  # service -> why; printed in a red banner at the end of the run


def require(service: str, problem: str | None) -> None:
    """Go on if `problem` is None; otherwise end the run under CI, or skip this test and remember why."""
    if problem is None:
        return
    if IN_CI:
        pytest.exit(f"CI=true and {service} is not available: {problem}", returncode=3)
    SKIPPED[service] = problem
    pytest.skip(f"{service} not available: {problem}")


@cache
def postgres_problem() -> str | None:
    """None when PostgreSQL is usable (and the suite's database exists), else why not."""
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    except Exception as exc:  # noqa: BLE001 - any failure means "not available", reported verbatim
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def pg_url() -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{PG_DATABASE}"


@cache
def redis_problem() -> str | None:
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return None


def claim_redis_database() -> str | None:
    """Mark the Redis database as this slot's for the run; the problem when another slot's run holds it."""
    global _claim
    if _claim is not None or redis_problem() is not None:
        return None
    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    problem = held_by_another_slot(connection, SLOT)
    if problem:
        connection.close()
        return problem
    connection.client_setname(_CLAIM_NAME + SLOT)
    _claim = connection
    return None


def held_by_another_slot(connection: Redis, slot: str) -> str | None:
    """Why `slot` must not use this Redis database: another slot's run has claimed it (None when free)."""
    database = connection.connection_pool.connection_kwargs.get("db", 0)
    for client in connection.client_list():
        name = client.get("name", "")
        if name.startswith(_CLAIM_NAME) and name != _CLAIM_NAME + slot and int(client.get("db", -1)) == database:
            return (
                f"Redis database {database} is in use by the run of slot {name.removeprefix(_CLAIM_NAME)!r}; "
                f"give WX110_TEST_SLOT={slot!r} its own TEST_REDIS_URL"
            )
    return None


def browser_problem() -> str | None:
    """None when Playwright and Debian's Chromium are both there, else what is missing."""
    try:
        import playwright.sync_api  # noqa: F401 - only the page tests need it
    except ImportError as exc:
        return f"the playwright package is missing ({exc}): pip install -r requirements-dev.txt"
    if not shutil.which(CHROMIUM):
        return f"{CHROMIUM} is missing: install Debian's chromium package (see README)"
    return None


SERVICES = ("postgresql", "redis", "browser", "pgbouncer", "fault suite", "faketime")


def preflight() -> list[tuple[str, str]]:
    """Every service the suite needs that is missing, with why (checked once, before any test, under CI)."""
    from tests import pgbouncer
    from tests.faults import cluster

    problems = {
        "postgresql": postgres_problem(),
        "redis": redis_problem(),
        "browser": browser_problem(),
        "pgbouncer": pgbouncer.problem(),
        "fault suite": cluster.problem(),
        "faketime": faketime_problem(),
    }
    return [(service, problem) for service, problem in problems.items() if problem]


def faketime_problem() -> str | None:
    return None if shutil.which("faketime") else "the faketime program is missing (Debian package faketime)"


def left_out_by_setting(backends: list[str]) -> str | None:
    """Why a run that leaves PostgreSQL out (WX110_TEST_DATABASES) proves nothing about concurrency."""
    if "postgresql" in backends:
        return None
    return (
        f"WX110_TEST_DATABASES={','.join(backends)} leaves PostgreSQL out: the concurrency, advisory-lock and "
        "trigger tests prove something only there"
    )
