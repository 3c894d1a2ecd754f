"""The audit chain: concurrent writers never fork it; editing one byte of one row is found and named.

Tampering here goes around the append-only trigger of PostgreSQL (`tamper`: a superuser session in replica mode,
what an attacker with the database's superuser would do); `test_audit_tamper.py` covers the trigger and the MAC.
"""

import os
import subprocess
import sys
import threading
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select, text

from casework import audit, citizens, incidents
from casework.db import db
from casework.models import AuditEntry, System
from casework.status import Channel

ROOT = Path(__file__).resolve().parents[2]


def tamper(statement: str, params: dict | None = None) -> None:
    """Change audit rows behind the application's back (past the trigger on PostgreSQL), and commit."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text(statement), params or {})
    db.session.commit()


def flask_cli(app, *args) -> subprocess.CompletedProcess:
    """Run a real `flask` command against the test database, as an operator would."""
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "AUDIT_CHECKPOINT_DIR": app.config["AUDIT_CHECKPOINT_DIR"],
    }
    if app.config.get("AUDIT_MAC_KEYS"):
        env["AUDIT_MAC_KEYS"] = app.config["AUDIT_MAC_KEYS"]
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.needs_postgresql  # SQLite serialises every writer: only PostgreSQL can fork the chain
def test_concurrent_writers_keep_one_chain(app, postgresql_only):
    writers, per_writer = 4, 25

    def write(index: int) -> None:
        with app.app_context():
            for n in range(per_writer):
                audit.record(actor=System(f"writer-{index}"), action="test.concurrent", detail={"n": n})
                db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [e.seq for e in entries] == list(range(1, writers * per_writer + 1))
        assert all(b.prev_hash == a.hash for a, b in pairwise(entries))
        assert audit.verify() == (writers * per_writer, None)


def test_changing_one_byte_is_found_and_named_by_flask_audit_verify(app):
    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-audit")
        for i in range(3):
            incidents.report(citizen=citizen, channel=Channel.WECHAT, description=f"第{i}次报警")
        app.extensions["wx110.dispatcher"].drain()  # the jobs the reports scheduled audit what they do too
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        victim = entries[len(entries) // 2]
        victim_seq, victim_id = victim.seq, victim.id
        db.session.remove()

    intact = flask_cli(app, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert f"{len(entries)} entries" in intact.stdout

    with app.app_context():
        detail = db.session.scalar(select(AuditEntry.detail).where(AuditEntry.id == victim_id))
        flipped = detail.replace(detail[1], chr(ord(detail[1]) ^ 1), 1)  # one byte of the JSON changes
        assert flipped != detail
        tamper("UPDATE audit_entry SET detail = :d WHERE id = :id", {"d": flipped, "id": victim_id})

    broken = flask_cli(app, "audit", "verify")
    assert broken.returncode != 0
    assert f"seq={victim_seq} (id={victim_id})" in broken.stderr


def test_deleting_a_row_is_found(app):
    with app.app_context():
        for n in range(5):
            audit.record(actor=System(), action="test.delete", detail={"n": n})
        db.session.commit()
        tamper("DELETE FROM audit_entry WHERE seq = 3")
        checked, broken = audit.verify()
        assert checked == 2 and broken.seq == 3


@pytest.mark.needs_postgresql  # SQLite transactions are exclusive: there is nothing to overlap
def test_a_writer_waits_for_the_chain_only_while_another_commits(app, postgresql_only):
    """Entries are sealed at commit: a transaction that recorded an entry and is still working does not hold the
    chain, so another one records and commits meanwhile; the slower one is sealed after it."""
    recorded, finished = threading.Event(), threading.Event()

    def slow() -> None:
        with app.app_context():
            audit.record(actor=System("slow"), action="test.slow")
            db.session.flush()
            recorded.set()
            finished.wait(10)  # still inside its transaction while the other commits
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=slow)
    thread.start()
    assert recorded.wait(10)
    try:
        with app.app_context():
            db.session.execute(text("SET LOCAL lock_timeout = '3s'"))  # a wait for the chain's lock fails the test
            audit.record(actor=System("fast"), action="test.fast")
            db.session.commit()
    finally:
        finished.set()
        thread.join()
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [(e.seq, e.action) for e in entries] == [(1, "test.fast"), (2, "test.slow")]
        assert audit.verify() == (2, None)


def test_an_entry_recorded_in_a_rolled_back_savepoint_is_not_sealed(app):
    with app.app_context():
        audit.record(actor=System("kept"), action="test.before")
        savepoint = db.session.begin_nested()
        audit.record(actor=System("gone"), action="test.inside")
        inner = db.session.begin_nested()
        audit.record(actor=System("gone"), action="test.deeper")
        inner.commit()
        savepoint.rollback()
        released = db.session.begin_nested()
        audit.record(actor=System("kept"), action="test.released")
        released.commit()
        db.session.commit()
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions == ["test.before", "test.released"]
        assert audit.verify() == (2, None)


def test_a_reader_in_the_same_transaction_sees_its_own_entries(app):
    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-own-trail")
        db.session.commit()
        audit.record(actor=System("reader"), action="test.mine", subject=citizen)
        assert [e.action for e in audit.trail(citizen)][-1] == "test.mine"
        assert audit.head()[0] == max(e.seq for e in audit.trail(citizen))
        db.session.rollback()
        assert "test.mine" not in [e.action for e in audit.trail(citizen)]
