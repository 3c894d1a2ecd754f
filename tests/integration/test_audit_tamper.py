"""An audit chain that cannot be rewritten unseen: a keyed MAC per entry, checkpoints of the head outside the
database, key rotation, and on PostgreSQL a trigger that refuses UPDATE, DELETE and TRUNCATE."""

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from casework import audit, audit_checkpoints, clock, subscriptions
from casework.db import db
from casework.models import AuditEntry, System
from server import create_app
from tests.conftest import base_config
from tests.integration.test_audit_chain import flask_cli, tamper

KEY_A = "a:first-audit-key-0123456789"
KEY_B = "b:second-audit-key-0123456789"


def _append(count: int, action: str = "test.tamper") -> None:
    for n in range(count):
        audit.record(actor=System("test"), action=action, detail={"n": n})
    db.session.commit()


def _entries() -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()


def _plain_rows() -> list[SimpleNamespace]:
    """The rows as detached plain values (an attacker's copy to forge from)."""
    table = AuditEntry.__table__
    rows = [SimpleNamespace(**row) for row in db.session.execute(select(table).order_by(table.c.seq)).mappings()]
    db.session.commit()
    return rows


def test_entries_carry_the_signing_key_id_and_a_mac_not_a_plain_hash(make_app):
    app = make_app(AUDIT_MAC_KEYS=f"{KEY_A}")
    with app.app_context():
        _append(2)
        first = _entries()[0]
        assert first.key_id == "a"
        assert first.hash == audit.entry_hash(first, b"first-audit-key-0123456789")
        assert first.hash != audit.entry_hash(first, None)  # whoever lacks the key cannot compute it


def test_editing_a_middle_row_is_named_by_flask_audit_verify(make_app):
    app = make_app(AUDIT_MAC_KEYS=KEY_A)
    with app.app_context():
        _append(7)
        victim = _entries()[3]
        seq, entry_id = victim.seq, victim.id
        tamper("UPDATE audit_entry SET action = 'test.innocent' WHERE id = :id", {"id": entry_id})
        db.session.remove()
    result = flask_cli(app, "audit", "verify")
    assert result.returncode == 1
    assert f"seq={seq} (id={entry_id})" in result.stderr and "after 3 good entries" in result.stderr


def test_recomputing_every_later_hash_without_the_key_is_named_at_the_edited_row(make_app):
    app = make_app(AUDIT_MAC_KEYS=KEY_A)
    with app.app_context():
        _append(6)
        rows = _plain_rows()
        victim = rows[2]
        seq, entry_id = victim.seq, victim.id
        # The attacker edits a row and recomputes its hash and every later link: with the project's old plain
        # SHA-256, and with a key of their own under the same key id. Neither passes.
        for forge in (lambda entry: audit.entry_hash(entry, None), lambda entry: audit.entry_hash(entry, b"guessed")):
            prev = rows[1].hash
            for entry in rows[2:]:
                entry.prev_hash = prev
                if entry.id == entry_id:
                    entry.detail = json.dumps({"n": 99})
                entry.hash = forge(entry)
                tamper(
                    "UPDATE audit_entry SET detail = :detail, prev_hash = :prev, hash = :hash WHERE id = :id",
                    {"detail": entry.detail, "prev": entry.prev_hash, "hash": entry.hash, "id": entry.id},
                )
                prev = entry.hash
            checked, broken = audit.verify()
            assert (checked, broken.seq, broken.entry_id) == (2, seq, entry_id), broken
            assert "签名" in broken.reason
            rows = _plain_rows()
        db.session.remove()
    result = flask_cli(app, "audit", "verify")
    assert result.returncode == 1 and f"seq={seq} (id={entry_id})" in result.stderr


def test_deleting_the_newest_rows_is_found_against_the_checkpoint(make_app):
    app = make_app(AUDIT_MAC_KEYS=KEY_A)
    with app.app_context():
        _append(5)
        db.session.remove()
    written = flask_cli(app, "audit", "checkpoint")
    assert written.returncode == 0 and "seq=5" in written.stdout, written.stderr
    assert flask_cli(app, "audit", "verify").returncode == 0
    with app.app_context():
        tamper("DELETE FROM audit_entry WHERE seq >= 4")
        assert audit.verify() == (3, None)  # what is left is a valid chain: only the checkpoint can tell
        db.session.remove()
    result = flask_cli(app, "audit", "verify")
    assert result.returncode == 1
    assert "seq=4 (id=None)" in result.stderr and "seq=5" in result.stderr, result.stderr


def test_checkpoints_are_new_write_once_files_and_the_log_says_each(make_app, caplog):
    app = make_app(AUDIT_MAC_KEYS=KEY_A)
    folder = Path(app.config["AUDIT_CHECKPOINT_DIR"])
    assert "audit.checkpoint" in subscriptions.of(app).sweeps  # periodic, in the scheduler or the timer
    with app.app_context(), caplog.at_level("INFO", logger="casework.audit_checkpoints"):
        assert audit_checkpoints.write(now=clock.now()) is None  # empty chain: nothing to write
        _append(2)
        head = audit_checkpoints.write(now=clock.now())
        assert head == (2, _entries()[-1].hash)
        assert audit_checkpoints.write(now=clock.now()) is None  # same head: no second file, none rewritten
        _append(1)
        audit_checkpoints.write(now=clock.now())
        assert sorted(p.name for p in folder.iterdir()) == [
            "audit-head-000000000000002.json",
            "audit-head-000000000000003.json",
        ]
        assert audit_checkpoints.read() == {2: head[1], 3: _entries()[-1].hash}
        assert f"seq=2 hash={head[1]}" in caplog.text
        mode = os.stat(folder / "audit-head-000000000000002.json").st_mode & 0o777
        assert mode == 0o444


def test_a_checkpoint_that_disagrees_with_the_chain_is_named(make_app):
    app = make_app(AUDIT_MAC_KEYS=KEY_A)
    with app.app_context():
        _append(4)
        entry = _entries()[1]
        checked, broken = audit.verify(checkpoints={2: "f" * 64})
        assert (checked, broken.seq, broken.entry_id) == (1, 2, entry.id)


def test_key_rotation_old_entries_verify_with_the_old_key_id_new_with_the_new(make_app, backend):
    app = make_app(AUDIT_MAC_KEYS=KEY_A)
    with app.app_context():
        _append(3, "test.before_rotation")
        db.session.remove()
    rotated = create_app(base_config(backend, AUDIT_MAC_KEYS=f"{KEY_B},{KEY_A}"))  # b signs, a still verifies
    with rotated.app_context():
        _append(2, "test.after_rotation")
        assert [(e.action, e.key_id) for e in _entries()] == [("test.before_rotation", "a")] * 3 + [
            ("test.after_rotation", "b")
        ] * 2
        assert audit.verify() == (5, None)
        db.session.remove()
    assert flask_cli(rotated, "audit", "verify").returncode == 0
    retired_too_soon = create_app(base_config(backend, AUDIT_MAC_KEYS=KEY_B))
    with retired_too_soon.app_context():
        checked, broken = audit.verify()
        first = _entries()[0]
        assert (checked, broken.seq, broken.entry_id) == (0, 1, first.id) and "a" in broken.reason
        db.session.remove()
    for built in (rotated, retired_too_soon):
        with built.app_context():
            db.engine.dispose()


def test_production_refuses_to_start_without_audit_keys(backend):
    with pytest.raises(audit.MissingKey):
        create_app(base_config(backend, PRODUCTION=True, AUDIT_MAC_KEYS=""))
    assert create_app(base_config(backend, PRODUCTION=True, AUDIT_MAC_KEYS=KEY_A))


@pytest.mark.needs_postgresql
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry WHERE seq = 1", "TRUNCATE audit_entry"],
)
def test_the_trigger_refuses_update_delete_and_truncate(make_app, postgresql_only, statement):
    app = make_app()
    with app.app_context():
        _append(2)
        with pytest.raises(DBAPIError, match="audit_entry is append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
        assert len(_entries()) == 2 and audit.verify() == (2, None)
