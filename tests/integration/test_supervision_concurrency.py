"""Two sweeps at once, in two processes on PostgreSQL, over the same due clocks: every warning is raised exactly
once, and each process's output adds up to the total."""

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casework import seed
from casework.clock import CHINA
from casework.db import db
from supervision import clocks
from supervision.models import DeadlineClock, Warning

pytestmark = pytest.mark.needs_postgresql
ROOT = Path(__file__).resolve().parents[2]
CLOCKS = 400


def test_two_processes_sweeping_at_once_raise_each_warning_once(app, world):
    started = datetime(2025, 11, 3, 9, 0, tzinfo=CHINA)
    unit = seed.doorplate("DH-0001").unit_id
    for n in range(CLOCKS):
        clocks.start(
            kind="INCIDENT_UNASSIGNED",
            subject_type="incident",
            subject_id=100_000 + n,
            number=f"JQ-T{n:05d}",
            started_at=started,
            unit_id=unit,
        )
    db.session.commit()
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    env.pop("REDIS_URL", None)
    moment = (started + timedelta(minutes=40)).isoformat()
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "supervision", "sweep", "--now", moment],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    raised = [int(re.search(r"raised (\d+)", out).group(1)) for out in outputs]
    assert sum(raised) == 2 * CLOCKS  # a yellow and a red each, between them
    db.session.expire_all()
    per_clock = db.session.execute(
        select(Warning.clock_id, Warning.colour, func.count()).group_by(Warning.clock_id, Warning.colour)
    ).all()
    assert len(per_clock) == 2 * CLOCKS and {count for _, _, count in per_clock} == {1}
    assert (
        db.session.scalar(
            select(func.count()).select_from(DeadlineClock).where(DeadlineClock.next_check_at.is_not(None))
        )
        == 0
    )
    # And a third sweep at the same moment finds nothing to do.
    third = subprocess.run(
        [sys.executable, "-m", "flask", "supervision", "sweep", "--now", moment],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "visited 0 clock(s), raised 0" in third.stdout, third.stdout + third.stderr
