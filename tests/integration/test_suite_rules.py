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
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 3, run.stdout + run.stderr
    assert "leaves PostgreSQL out" in run.stdout + run.stderr
    assert " passed" not in run.stdout  # it stopped before running anything


def run_browser_tests_without_playwright(tmp_path, **env) -> subprocess.CompletedProcess:
    """The page tests in a child run where `import playwright` fails, as on a machine without the package."""
    shadow = tmp_path / "shadow" / "playwright"
    shadow.mkdir(parents=True, exist_ok=True)
    (shadow / "__init__.py").write_text('raise ImportError("simulated: no playwright package")\n')
    env = {**os.environ, "PYTHONPATH": str(shadow.parent), **env}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "sqlite",
            "tests/e2e/test_doorplate_landing_browser.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_playwright_package_fails_under_ci_and_is_bannered_elsewhere(tmp_path):
    under_ci = run_browser_tests_without_playwright(tmp_path, CI="true")
    assert under_ci.returncode == 3, under_ci.stdout + under_ci.stderr
    assert "browser is not available" in under_ci.stdout + under_ci.stderr
    elsewhere = run_browser_tests_without_playwright(tmp_path, CI="")
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr
    assert "BROWSER NOT AVAILABLE" in elsewhere.stdout and " skipped" in elsewhere.stdout
    assert " passed" not in elsewhere.stdout
