"""The category taxonomy in the database: seeding and upgrading it from the file, the tree offered to pickers,
and an admin's edits (role, validation, audit, event, one transaction)."""

import json

import pytest
from sqlalchemy import func, select

from casework import categories, events, incidents, seed
from casework.db import db
from casework.errors import Forbidden, InvalidInput
from casework.events import Event
from casework.models import AuditEntry, Category
from casework.status import Channel

ADMIN = "100000"


def rows() -> list[tuple]:
    """Every category as a comparable tuple (a change anywhere shows)."""
    found = db.session.scalars(select(Category).order_by(Category.code)).all()
    return [
        (c.code, c.name, c.parent_id, c.case_type, c.guide, c.equipment, c.legal_refs, c.deadlines, c.active, c.seeded)
        for c in found
    ]


def audit_entries(*actions: str) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if actions:
        query = query.where(AuditEntry.action.in_(actions))
    return db.session.scalars(query).all()


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def edited_file(tmp_path, change) -> object:
    document = json.loads(seed.CATEGORIES_FILE.read_text(encoding="utf-8"))
    change({c["code"]: c for m in document["categories"] for c in [m, *m["children"]]}, document)
    path = tmp_path / "categories.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def recorded(app):
    """Every category.changed published while the test runs, as the payloads its subscriber received."""
    calls: list[dict] = []
    events.subscribe(app, Event.CATEGORY_CHANGED, lambda **payload: calls.append(payload), job="test.category")

    def drained() -> list[dict]:
        db.session.commit()  # SQLite: a transaction held here would block the jobs the drain waits for
        app.extensions["wx110.dispatcher"].drain()
        return calls

    return drained


def test_seeding_creates_the_taxonomy_once_and_a_second_run_changes_nothing(ctx):
    assert seed.load_categories() == 94
    [created] = audit_entries("categories.created")
    assert created.actor_kind == "system" and len(json.loads(created.detail)["codes"]) == 94
    before, entries = rows(), audit_count()
    assert seed.load_categories() == 0
    assert rows() == before and audit_count() == entries


def test_flask_seed_and_demo_load_the_taxonomy_idempotently(app, ctx):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0 and "categories: 94 changed" in first.output
    before, entries = rows(), audit_count()
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0 and "categories: 0 changed" in again.output
    demo = runner.invoke(args=["demo"])
    assert demo.exit_code == 0 and "categories=94" in demo.output
    assert rows() == before
    assert not [e for e in audit_entries()[entries:] if e.action.startswith("category")]


def test_a_changed_file_updates_adds_and_deactivates_each_with_an_audit_entry(ctx, tmp_path, recorded):
    seed.load_categories()
    recorded()
    theft = seed.category("0101")
    incident = incidents.report(
        citizen=_citizen(), channel=Channel.WECHAT, description="车被偷了", category=seed.category("0314")
    )

    def change(by_code, document):
        by_code["0101"]["guide"] = "1. 新的第一步;2. 新的第二步;3. 新的第三步。"
        by_code["0101"]["equipment"] = ["执法记录仪", "现场勘查箱"]
        document["categories"][2]["children"] = [
            c for c in document["categories"][2]["children"] if c["code"] != "0314"
        ]
        document["categories"][6]["children"].append(
            {"code": "0799", "name": "涉测试对象", "guide": "1. 一;2. 二;3. 三。", "equipment": ["手电筒"],
             "legal_refs": ["《中华人民共和国人民警察法》"]}
        )  # fmt: skip

    start = len(recorded())
    assert seed.load_categories(edited_file(tmp_path, change)) == 3
    published = recorded()[start:]

    assert theft.guide.startswith("1. 新的第一步") and theft.equipment == ["执法记录仪", "现场勘查箱"]
    updated = audit_entries("category.updated")[-1]
    detail = json.loads(updated.detail)
    assert (updated.actor_kind, updated.subject_id) == ("system", theft.id)
    assert set(detail["before"]) == set(detail["after"]) == {"guide", "equipment"}
    assert detail["after"]["equipment"] == ["执法记录仪", "现场勘查箱"]

    removed = seed.category("0314")
    assert removed is not None and removed.active is False  # deactivated, never deleted
    assert db.session.get(type(incident), incident.id).category_id == removed.id
    assert audit_entries("category.deactivated")[-1].subject_id == removed.id
    added = seed.category("0799")
    assert added.active and added.parent.code == "07"
    assert json.loads(audit_entries("categories.created")[-1].detail) == {"codes": ["0799"]}
    assert {p["category_id"] for p in published} == {theft.id, removed.id, added.id}

    entries = audit_count()
    assert seed.load_categories(edited_file(tmp_path, change)) == 0 and audit_count() == entries

    assert seed.load_categories() == 3  # back to the shipped file: 0101 restored, 0314 back, 0799 retired
    assert theft.guide.startswith("1. 询问报警人") and seed.category("0314").active
    assert seed.category("0799").active is False


def test_an_admins_edit_survives_a_newer_file_that_changes_other_fields(ctx, tmp_path, world):
    category = seed.category("0105")
    categories.update(category=category, actor=world.officer(ADMIN), guide="1. 本地做法;2. 第二步;3. 第三步。")

    def change(by_code, document):
        by_code["0105"]["guide"] = "1. 文件里的新写法;2. 二;3. 三。"
        by_code["0105"]["legal_refs"] = ["《中华人民共和国治安管理处罚法》关于殴打他人、故意伤害他人身体的规定"]

    assert seed.load_categories(edited_file(tmp_path, change)) == 1
    assert category.guide == "1. 本地做法;2. 第二步;3. 第三步。"
    assert category.legal_refs == ["《中华人民共和国治安管理处罚法》关于殴打他人、故意伤害他人身体的规定"]
    detail = json.loads(audit_entries("category.updated")[-1].detail)
    assert set(detail["after"]) == {"legal_refs"} and detail["kept_local_edits"] == ["guide"]
    assert seed.load_categories(edited_file(tmp_path, change)) == 0


def test_a_category_an_admin_deactivated_stays_off_after_a_reseed(ctx, world):
    category = seed.category("0502")
    categories.update(category=category, actor=world.officer(ADMIN), active=False)
    assert seed.load_categories() == 0
    assert category.active is False


def test_the_tree_lists_active_categories_in_code_order(ctx, world):
    branches = categories.tree()
    assert [b.major.name for b in branches][:2] == ["常见案件类", "群体性事件类"] and len(branches) == 7
    assert sum(len(b.children) for b in branches) == 87
    assert [c.code for c in branches[0].children] == sorted(c.code for c in branches[0].children)
    categories.update(category=seed.category("0303"), actor=world.officer(ADMIN), active=False)
    categories.update(category=seed.category("06"), actor=world.officer(ADMIN), active=False)
    offered = [c.code for b in categories.tree() for c in b.children]
    assert "0303" not in offered and "0601" not in offered and len(offered) == 87 - 1 - 9
    everything = categories.tree(include_inactive=True)
    assert sum(len(b.children) for b in everything) == 87 and len(everything) == 7
    assert categories.get("0303").active is False


def test_an_admin_edits_a_category_with_one_audit_entry_and_one_event(ctx, world, recorded):
    start = len(recorded())
    admin, category = world.officer(ADMIN), seed.category("0601")
    old_guide, entries = category.guide, audit_count()
    categories.update(
        category=category,
        actor=admin,
        name=" 道路交通事故(含非机动车) ",
        guide="1. 设置警示标志;2. 救治伤员;3. 检测酒精。",
        equipment=["执法记录仪", "反光锥桶"],
        legal_refs=["《中华人民共和国道路交通安全法》"],
    )
    db.session.rollback()  # the use case committed: what follows reads what was stored
    category = seed.category("0601")
    assert category.name == "道路交通事故(含非机动车)"
    assert category.equipment == ["执法记录仪", "反光锥桶"]
    assert audit_count() == entries + 1
    entry = audit_entries()[-1]
    assert (entry.actor_kind, entry.actor_id, entry.action, entry.subject_type, entry.subject_id) == (
        "officer",
        admin.id,
        "category.updated",
        "category",
        category.id,
    )
    detail = json.loads(entry.detail)
    assert detail["before"]["guide"] == old_guide and detail["after"]["guide"].startswith("1. 设置警示标志")
    assert set(detail["after"]) == {"name", "guide", "equipment", "legal_refs"}
    category_id = category.id
    assert recorded()[start:] == [{"category_id": category_id}]

    category = seed.category("0601")
    categories.update(category=category, actor=admin, equipment=["执法记录仪", "反光锥桶"])  # saved unchanged
    assert audit_count() == entries + 1 and len(recorded()) == start + 1


@pytest.mark.parametrize("badge", ["100001", "100002", "100004", "100005"])
def test_only_an_admin_may_edit_a_category(ctx, world, badge):
    before, entries = rows(), audit_count()
    with pytest.raises(Forbidden):
        categories.update(category=seed.category("0101"), actor=world.officer(badge), guide="1. 改;2. 改;3. 改。")
    db.session.rollback()
    assert rows() == before and audit_count() == entries


def test_a_deactivated_admin_may_not_edit(ctx, world):
    admin = world.officer(ADMIN)
    admin.active = False
    with pytest.raises(Forbidden):
        categories.update(category=seed.category("0101"), actor=admin, name="盗窃案")


@pytest.mark.parametrize(
    ("code", "changes", "message"),
    [
        ("0101", {}, "没有要修改的内容"),
        ("0101", {"code": "9999"}, "不能修改这些字段:code"),
        ("0101", {"case_type": "criminal"}, "不能修改这些字段:case_type"),
        ("0101", {"guide": "   "}, "请填写处置要点"),
        ("0101", {"guide": "很长" * 2001}, "处置要点过长(最多4000字)"),
        ("0101", {"name": ""}, "请填写类别名称"),
        ("0101", {"name": "名" * 65}, "类别名称过长(最多64字)"),
        ("0101", {"equipment": []}, "请至少列出一件装备"),
        ("0101", {"equipment": "执法记录仪"}, "装备清单格式不正确"),
        ("0101", {"equipment": ["执法记录仪", " 执法记录仪"]}, "装备清单中有重复项"),
        ("0101", {"equipment": ["执法记录仪", ""]}, "装备清单中有空白项"),
        ("0101", {"legal_refs": [42]}, "法律依据格式不正确"),
        ("0101", {"legal_refs": ["《法》"] * 2}, "法律依据中有重复项"),
        ("0101", {"legal_refs": [f"《第{n}号规定》" for n in range(41)]}, "法律依据过多(最多40项)"),
        ("0101", {"active": "no"}, "启用状态格式不正确"),
        ("01", {"guide": "1. 一;2. 二;3. 三。"}, "大类只能修改名称和启用状态"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(ctx, world, code, changes, message):
    before, entries = rows(), audit_count()
    with pytest.raises(InvalidInput) as refused:
        categories.update(category=seed.category(code), actor=world.officer(ADMIN), **changes)
    db.session.rollback()
    assert refused.value.message == message
    assert rows() == before and audit_count() == entries


def test_a_deactivated_category_is_refused_for_new_reports_but_old_incidents_keep_it(ctx, world):
    category = seed.category("0303")
    old = incidents.report(citizen=_citizen(), channel=Channel.WECHAT, description="买到假货", category=category)
    categories.update(category=category, actor=world.officer(ADMIN), active=False)
    with pytest.raises(InvalidInput):
        incidents.report(citizen=_citizen(), channel=Channel.WECHAT, description="又买到假货", category=category)
    db.session.rollback()
    assert db.session.get(type(old), old.id).category.code == "0303"


def _citizen():
    from casework import citizens

    return citizens.identify(oa_openid="o-categories")


def test_a_type_heading_is_not_a_category_an_incident_can_take(app, world, citizen, officer):
    """The seven major types are headings of the picker (optgroups), not categories: recategorising to one is
    refused and changes nothing; the timeline speaks of categories by name."""
    incident = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="有人打架", doorplate=seed.doorplate("DH-0001")
    )
    db.session.commit()
    with pytest.raises(InvalidInput, match="「常见案件类」是警情大类"):
        incidents.recategorise(incident=incident, actor=officer, category=seed.category("01"), reason="调整")
    db.session.rollback()
    assert db.session.get(type(incident), incident.id).category_id is None
    entry = incidents.recategorise(incident=incident, actor=officer, category=seed.category("0102"), reason="核实")
    assert entry.internal_note == f"类别由「未分类」调整为「{seed.category('0102').name}」:核实"
