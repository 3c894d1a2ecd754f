"""`./wx110`'s check of the programs the tests need, run for real with the programs hidden (WX110_PROGRAM_ROOT
points the path checks at an empty root) and a stub `apt-get` first on the PATH that records what it is asked: a
missing program is asked for by its Debian package and checked again; under CI=true a failed install stops the
run before any test, naming the package; and no helper of `wx110` shadows a program of the same name."""

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "wx110"
PACKAGES = ("chromium", "pgbouncer", "redis-server", "postgresql", "faketime")

STUB = """#!/usr/bin/env bash
# records each call; "installs" a package by creating its program under the fake root, unless told to fail
echo "$*" >> "$STUB_LOG"
if [ "$1" = install ]; then
  [ -n "${STUB_FAIL:-}" ] && exit 100
  for package in "$@"; do
    case "$package" in
      chromium) target=/usr/bin/chromium ;;
      pgbouncer) target=/usr/sbin/pgbouncer ;;
      redis-server) target=/usr/bin/redis-server ;;
      postgresql) target=/usr/lib/postgresql/15/bin/pg_ctl ;;
      faketime) target=/usr/bin/faketime ;;
      *) continue ;;
    esac
    mkdir -p "$WX110_PROGRAM_ROOT$(dirname "$target")"
    printf '#!/bin/sh\\n' > "$WX110_PROGRAM_ROOT$target"
    chmod +x "$WX110_PROGRAM_ROOT$target"
  done
fi
exit 0
"""


def run_check(tmp_path, *, present=(), fail=False, ci=True, command="programs"):
    root, stubs = tmp_path / "root", tmp_path / "bin"
    for path in present:
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_text("#!/bin/sh\n")
        (root / path.lstrip("/")).chmod(0o755)
    stubs.mkdir(exist_ok=True)
    for name in ("apt-get", "sudo"):
        stub = stubs / name
        stub.write_text(STUB if name == "apt-get" else '#!/usr/bin/env bash\nexec "$@"\n')
        stub.chmod(0o755)
    log = tmp_path / "apt.log"
    env = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "WX110_PROGRAM_ROOT": str(root),
        "STUB_LOG": str(log),
        "CI": "true" if ci else "",
        **({"STUB_FAIL": "1"} if fail else {}),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    asked = log.read_text().splitlines() if log.exists() else []
    return done, asked


def test_a_hidden_program_is_installed_by_its_package_and_checked_again(tmp_path):
    done, asked = run_check(tmp_path, present=("/usr/bin/chromium", "/usr/bin/redis-server", "/usr/bin/faketime"))
    assert done.returncode == 0, done.stderr
    installs = [line for line in asked if line.startswith("install")]
    assert any("pgbouncer" in line for line in installs) and any("postgresql" in line for line in installs)
    assert not any(re.search(r"\b(chromium|redis-server|faketime)\b", line) for line in installs)  # present ones
    assert "update" in asked[0]  # the package lists first, once
    assert (tmp_path / "root/usr/sbin/pgbouncer").exists()


def test_under_ci_a_failed_install_stops_the_run_before_any_test(tmp_path):
    done, asked = run_check(tmp_path, present=("/usr/bin/chromium",), fail=True, command="test")
    assert done.returncode == 3
    assert "MISSING: Debian package pgbouncer" in done.stderr and "stopping before any test" in done.stderr
    assert "passed" not in done.stdout and "collected" not in done.stdout  # pytest never started
    assert any("install" in line and "pgbouncer" in line for line in asked)


def test_outside_ci_a_failed_install_warns_and_goes_on(tmp_path):
    done, _asked = run_check(tmp_path, present=(), fail=True, ci=False)
    assert done.returncode == 0
    assert "MISSING: Debian package chromium" in done.stderr and "will be skipped" in done.stderr


def test_nothing_is_asked_when_every_program_is_there(tmp_path):
    everything = ("/usr/bin/chromium", "/usr/sbin/pgbouncer", "/usr/bin/redis-server", "/usr/bin/faketime")
    done, asked = run_check(tmp_path, present=(*everything, "/usr/lib/postgresql/16/bin/pg_ctl"))
    assert done.returncode == 0 and asked == [], (done.stderr, asked)


def test_no_helper_of_wx110_is_named_like_a_program():
    helpers = re.findall(r"^([\w-]+)\(\) \{", SCRIPT.read_text(), re.MULTILINE)
    assert "ensure_test_programs" in helpers
    for name in helpers:
        assert name not in PACKAGES and shutil.which(name, path=os.defpath + ":/usr/sbin:/sbin") is None, name
