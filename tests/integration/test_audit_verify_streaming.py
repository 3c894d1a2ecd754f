"""`flask audit verify` streams: memory stays one batch however long the chain, and it reports entries per second."""

import re
import tracemalloc

from casework import audit
from casework.db import db
from casework.models import System
from tests.integration.test_audit_chain import flask_cli


def _append(count: int) -> None:
    for n in range(count):
        audit.record(actor=System("test.streaming"), action="test.streaming", detail={"n": n, "pad": "x" * 200})
    db.session.commit()


def _peak_while_verifying(batch: int) -> tuple[int, int]:
    db.session.remove()
    tracemalloc.start()
    try:
        checked, broken = audit.verify(batch)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert broken is None
    return checked, peak


def test_verify_memory_does_not_grow_with_the_chain(ctx):
    _append(300)
    _peak_while_verifying(50)  # warm the statement caches, so the first measure is not inflated by them
    short, short_peak = _peak_while_verifying(50)
    _append(2_700)
    long, long_peak = _peak_while_verifying(50)
    assert (short, long) == (300, 3_000)
    # Ten times the entries: a walk that kept what it read needs about ten times the memory (3.3 MB against 0.26
    # MB when tried); the slack is for other threads of the test process allocating while it is traced.
    assert long_peak < short_peak * 2 + 512_000, (short_peak, long_peak)


def test_verify_reports_progress_to_the_caller_batch_by_batch(ctx):
    _append(120)
    seen: list[int] = []
    assert audit.verify(50, progress=seen.append) == (120, None)
    assert seen == [50, 100, 120]


def test_flask_audit_verify_says_how_fast_it_went(app):
    with app.app_context():
        _append(40)
        db.session.remove()
    result = flask_cli(app, "audit", "verify", "--batch", "7", "--every", "0")
    assert result.returncode == 0, result.stderr
    assert re.search(r"audit chain intact: 40 entries in \d+\.\d s, [\d,]+ entries/s", result.stdout), result.stdout
    progress = re.findall(r"\.\.\. (\d+) entries read, [\d,]+ entries/s", result.stderr)
    assert progress == ["7", "14", "21", "28", "35", "40"], result.stderr


def test_flask_audit_verify_refuses_a_batch_of_zero(app):
    with app.app_context():
        _append(3)
        db.session.remove()
    result = flask_cli(app, "audit", "verify", "--batch", "0")
    assert result.returncode == 2
    assert "--batch" in result.stderr
