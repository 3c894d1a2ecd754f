"""Where the test suite finds PostgreSQL and Redis, and what it does when one is missing.

With CI=true a missing service fails the run; elsewhere its tests are skipped and the run says so loudly.
"""

import os
from functools import cache

import psycopg
import pytest
from redis import Redis

SLOT = os.environ.get("WX110_TEST_SLOT", "main")
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_DATABASE = f"wx110_test_{SLOT}"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
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
