"""The cause list (案由) as a table: seeded from its file without ever undoing an admin's change, extended by a later
file's new causes at the end of the list, kept only by admins; what a case may be given follows it at once."""

import json

import pytest

from casework import causes, seed
from casework.db import db
from casework.errors import Conflict, Forbidden


def test_seeding_is_idempotent_keeps_an_admin_s_change_and_appends_new_causes(ctx, world, tmp_path):
    assert len(causes.listing()) == 38  # an emptied list is filled from the file on first use
    assert causes.load_seed() == 0
    admin = world.officer("100000")
    causes.rename(actor=admin, cause=causes.find("X0102"), name="普通诈骗案")
    causes.set_active(actor=admin, cause=causes.find("X0105"), active=False)
    db.session.commit()

    later = json.loads(causes.CAUSES_FILE.read_text(encoding="utf-8"))
    later["causes"].append({"code": "X0190", "name": "侵犯公民个人信息案", "type": "criminal"})
    path = tmp_path / "case_causes.json"
    path.write_text(json.dumps(later, ensure_ascii=False), encoding="utf-8")
    assert seed.load_causes(path) == 1
    assert seed.load_causes(path) == 0
    listed = causes.listing()
    assert listed[-1].code == "X0190" and listed[-1].position == 39
    assert causes.find("X0102").name == "普通诈骗案" and not causes.find("X0105").active
    assert "X0105" not in {c.code for c in causes.of_type("criminal")}
    assert causes.name("X0105") == "抢夺案"  # a deactivated cause still names old cases' cause
    assert causes.name(None) == "未定案由" and causes.name("Q9999") == "Q9999"


def test_only_an_admin_keeps_the_list_and_a_refusal_changes_nothing(ctx, world):
    officer = world.officer("100002")
    with pytest.raises(Forbidden):
        causes.add(actor=officer, code="X0191", name="测试案", case_type="criminal")
    db.session.rollback()
    with pytest.raises(Forbidden):
        causes.set_active(actor=officer, cause=causes.find("X0101"), active=False)
    db.session.rollback()
    admin = world.officer("100000")
    with pytest.raises(Conflict):
        causes.set_active(actor=admin, cause=causes.find("X0101"), active=True)  # already offered
    db.session.rollback()
    with pytest.raises(Conflict):
        causes.rename(actor=admin, cause=causes.find("X0101"), name="盗窃案")  # unchanged
    db.session.rollback()
    assert causes.find("X0191") is None and causes.find("X0101").active


def test_the_seed_command_reports_the_causes_it_added(app, world):
    first = app.test_cli_runner().invoke(args=["seed"])
    assert first.exit_code == 0 and "case causes: 38 added" in first.output  # into the emptied test database
    again = app.test_cli_runner().invoke(args=["seed"])
    assert again.exit_code == 0 and "case causes: 0 added" in again.output
