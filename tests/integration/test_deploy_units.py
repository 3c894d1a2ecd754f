"""deploy/: the systemd units restart on failure and stop the whole process group, run the commands the README
gives, and `systemd-analyze verify` accepts them; the environment file example names only declared settings."""

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server import config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = {
    "wx110-web.service": "/opt/wx110/.venv/bin/gunicorn ",
    "wx110-worker@.service": "/opt/wx110/.venv/bin/flask worker --no-fork",
    "wx110-scheduler.service": "/opt/wx110/.venv/bin/flask scheduler",
}


def parse(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string(path.read_text())
    return unit


@pytest.mark.parametrize("name", sorted(UNITS))
def test_each_unit_restarts_and_stops_its_whole_process_group(name):
    unit = parse(DEPLOY / name)
    service = unit["Service"]
    assert service["ExecStart"].startswith(UNITS[name])
    assert service["Restart"] in ("always", "on-failure")
    assert service["KillMode"] in ("control-group", "mixed")  # never `process`: a child must not outlive it
    assert service["EnvironmentFile"] == "/etc/wx110/wx110.env"
    assert service["WorkingDirectory"] == "/opt/wx110"
    assert int(service["TimeoutStopSec"]) > 0
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    if "flask" in service["ExecStart"]:
        assert service["Environment"] == "FLASK_APP=wsgi"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path):
    """With the placeholder release directory pointed at this checkout's interpreter (systemd checks that each
    command exists), `systemd-analyze verify` reports nothing."""
    bin_dir = Path(sys.executable).parent
    paths = []
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/wx110/.venv/bin/", f"{bin_dir}/")
        path = tmp_path / name.replace("@.", "@1.")  # a template is verified as one of its instances
        path.write_text(text)
        paths.append(str(path))
    result = subprocess.run(
        ["systemd-analyze", "verify", *paths], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    problems = [line for line in result.stderr.splitlines() if any(p.rsplit("/", 1)[1] in line for p in paths)]
    assert result.returncode == 0 and problems == [], result.stderr


def test_the_environment_example_names_only_declared_settings_and_is_production():
    lines = [line for line in (DEPLOY / "wx110.env.example").read_text().splitlines() if line and line[0] != "#"]
    values = dict(line.split("=", 1) for line in lines)
    declared = {setting.name for setting in config.SETTINGS}
    assert set(values) <= declared, set(values) - declared
    assert values["PRODUCTION"] == "yes" and values["WECHAT_REPLY_MODE"] == "queued"
    assert "AUDIT_MAC_KEYS" in values and "WECHAT_ALLOW_PLAINTEXT" not in values


def test_the_readme_points_at_the_units():
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Running it in production") :]
    for name in [*UNITS, "wx110.env.example"]:
        assert f"deploy/{name}" in production
