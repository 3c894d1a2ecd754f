"""The suite's own rules: a slot never shares its Redis database with another slot's run, and CI never runs
without PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

from redis import Redis

from tests import services

ROOT = Path(__file__).resolve().parents[2]


def test_a_redis_database_claimed_by_another_slot_is_refused(redis_url):
    intruder = Redis.from_url(redis_url)
    try:
        assert services.held_by_another_slot(intruder, services.SLOT) is None  # only this run's claim so far
        intruder.client_setname("wx110-test-slot-intruder")
        problem = services.held_by_another_slot(Redis.from_url(redis_url), services.SLOT)
        assert problem is not None and "'intruder'" in problem and services.SLOT in problem
        assert services.held_by_another_slot(Redis.from_url(redis_url), "intruder") is not None  # ours, seen by it
    finally:
        intruder.close()


def test_ci_refuses_a_run_that_leaves_postgresql_out():
    env = {**os.environ, "CI": "true", "WX110_TEST_DATABASES": "sqlite"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "leaves PostgreSQL out" in run.stdout + run.stderr
    assert " passed" not in run.stdout  # it stopped before running anything
