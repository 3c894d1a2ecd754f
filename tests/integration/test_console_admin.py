"""The console's admin pages for units, categories and doorplates (Flask's test client on the real database):
admins only, within their scope, CSRF-checked, and every change made by a casework use case that audits it."""

import io
import re

import pytest
from sqlalchemy import func, select

from casework import cases, causes, incidents, officers, seed
from casework.db import db
from casework.models import AuditEntry, Case, CaseCause, Category, Doorplate, Officer, Unit
from casework.status import Channel, IncidentStatus
from tests.integration.test_console import Browser, actions, csrf_of, log_in

ADMIN = "100000"  # the province's administrator
COUNTY_ADMIN = "200900"  # made by `county_admin`: 江滨区公安分局 only
PASSWORD = "county-admin-password"


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


@pytest.fixture
def county_admin(world) -> Officer:
    county = db.session.scalar(select(Unit).where(Unit.code == "330103"))
    return officers.create_officer(
        actor=world.officer(ADMIN),
        badge_no=COUNTY_ADMIN,
        name="江滨管理员",
        unit=county,
        roles=["admin"],
        password=PASSWORD,
    )


def admin_client(app, badge: str = ADMIN, password: str | None = None):
    browser = app.test_client()
    assert (log_in(browser, badge, password) if password else log_in(browser, badge)).status_code == 302
    return browser


def token_of(browser, path: str = "/console/") -> str:
    return csrf_of(browser.get(path).get_data(as_text=True))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def plate(code: str) -> Doorplate:
    return db.session.scalar(select(Doorplate).where(Doorplate.code == code))


ADMIN_PAGES = [
    "/console/admin/units",
    "/console/admin/categories",
    "/console/admin/categories/0101",
    "/console/admin/doorplates/",
    "/console/admin/causes",
]


def test_only_admins_open_the_admin_pages_and_their_forms(client, world):
    for path in ADMIN_PAGES:
        answer = client.get(path)
        assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]
    station = unit("33010201")
    before = count(AuditEntry)
    for badge in ("100001", "100002", "100004", "100005"):  # dispatcher, officer, legal officer, supervisor
        other = admin_client(client.application, badge)
        for path in ADMIN_PAGES:
            assert other.get(path).status_code == 403, (badge, path)
        token = token_of(other)
        for path, form in (
            (f"/console/admin/units/{station.id}/name", {"name": "冒名派出所"}),
            ("/console/admin/units/1/children", {"code": "330199", "name": "冒名分局"}),
            ("/console/admin/categories/0101", {"name": "冒名", "guide": "x", "equipment": "x", "legal_refs": "x"}),
            ("/console/admin/doorplates/DH-0001/revoke", {"reason": "冒名"}),
            ("/console/admin/doorplates/sheet", {"codes": "DH-0001"}),
            ("/console/admin/causes", {"code": "X0199", "name": "冒名案", "case_type": "criminal"}),
            ("/console/admin/causes/X0101/name", {"name": "冒名"}),
            ("/console/admin/causes/X0101/active", {"active": "0"}),
            ("/console/admin/causes/X0101/delete", {}),
        ):
            assert other.post(path, data={"csrf_token": token, **form}).status_code == 403, (badge, path)
        assert "系统管理" not in other.get("/console/").get_data(as_text=True)
    db.session.expire_all()
    assert unit("33010201").name == "东湖派出所" and plate("DH-0001").is_active
    assert causes.find("X0101").name == "盗窃案" and causes.find("X0101").active and causes.find("X0199") is None
    assert count(AuditEntry) == before + 4  # the four logins, nothing else


# -- units ----------------------------------------------------------------------------------------------------


def test_an_admin_sees_the_unit_tree_adds_a_station_and_renames_a_unit(client, world):
    browser = admin_client(client.application)
    page = browser.get("/console/admin/units").get_data(as_text=True)
    codes = re.findall(r'<tr data-code="(\d+)"', page)
    assert codes == ["330000", "330100", "330102", "33010201", "33010202", "330103", "33010301"]  # depth first
    assert 'class="tree depth-3">东湖派出所' in page
    token = csrf_of(page)
    county = unit("330102")

    browser.post(
        f"/console/admin/units/{county.id}/children",
        data={"csrf_token": token, "code": "33010203", "name": "湖滨派出所"},
    )
    created = unit("33010203")
    assert (created.name, created.level, created.parent_id) == ("湖滨派出所", "station", county.id)
    browser.post(f"/console/admin/units/{created.id}/name", data={"csrf_token": token, "name": "湖滨街派出所"})
    db.session.expire_all()
    assert unit("33010203").name == "湖滨街派出所"
    [made] = actions("unit.created")
    [renamed] = actions("unit.renamed")
    assert (made.actor_id, made.subject_type, made.subject_id) == (world.officer(ADMIN).id, "unit", created.id)
    assert '"before": "湖滨派出所"' in renamed.detail and '"after": "湖滨街派出所"' in renamed.detail

    # a station has nothing below it; a duplicate code is refused; both change nothing
    station = unit("33010201")
    browser.post(
        f"/console/admin/units/{station.id}/children",
        data={"csrf_token": token, "code": "3301020101", "name": "警务室"},
    )
    assert "派出所下不能再设单位" in browser.get("/console/admin/units").get_data(as_text=True)
    browser.post(
        f"/console/admin/units/{county.id}/children", data={"csrf_token": token, "code": "33010201", "name": "重复"}
    )
    assert "已存在" in browser.get("/console/admin/units").get_data(as_text=True)
    assert len(actions("unit.created")) == 1


def test_a_county_admin_manages_only_the_county_s_units_and_csrf_is_required(client, world, county_admin):
    browser = admin_client(client.application, COUNTY_ADMIN, PASSWORD)
    page = browser.get("/console/admin/units").get_data(as_text=True)
    assert re.findall(r'<tr data-code="(\d+)"', page) == ["330103", "33010301"]
    assert 'class="tree depth-0">江滨区公安分局' in page
    token = csrf_of(page)
    theirs, ours = unit("33010201"), unit("33010301")

    assert (
        browser.post(f"/console/admin/units/{theirs.id}/name", data={"csrf_token": token, "name": "越权"}).status_code
        == 404
    )
    assert (
        browser.post(
            f"/console/admin/units/{unit('330102').id}/children",
            data={"csrf_token": token, "code": "33010209", "name": "越权所"},
        ).status_code
        == 404
    )
    assert (
        browser.post("/console/admin/units/987654/name", data={"csrf_token": token, "name": "越权"}).status_code == 404
    )
    assert browser.post(f"/console/admin/units/{ours.id}/name", data={"name": "无令牌"}).status_code == 400
    db.session.expire_all()
    assert (unit("33010201").name, unit("33010301").name, unit("33010209")) == ("东湖派出所", "江滨派出所", None)
    assert actions("unit.renamed") == actions("unit.created") == []

    browser.post(f"/console/admin/units/{ours.id}/name", data={"csrf_token": token, "name": "滨江派出所"})
    db.session.expire_all()
    assert unit("33010301").name == "滨江派出所" and len(actions("unit.renamed")) == 1


# -- categories -----------------------------------------------------------------------------------------------


def test_an_admin_lists_the_taxonomy_and_edits_a_category_s_guidance(client, world):
    browser = admin_client(client.application)
    page = browser.get("/console/admin/categories").get_data(as_text=True)
    assert len(re.findall(r'<tr class="major" data-code=', page)) == 7
    assert len(re.findall(r'<tr data-code="\d{4}"', page)) == 87
    edit = browser.get("/console/admin/categories/0101").get_data(as_text=True)
    assert "处置要点" in edit and "法律依据" in edit
    token = csrf_of(edit)
    theft = db.session.scalar(select(Category).where(Category.code == "0101"))
    name = theft.name

    refused = browser.post("/console/admin/categories/0101", data={"name": name, "guide": "无令牌", "active": "on"})
    assert refused.status_code == 400
    browser.post(
        "/console/admin/categories/0101",
        data={
            "csrf_token": token,
            "name": name,
            "guide": "先核实被盗财物与时间,调取周边监控",
            "equipment": "执法记录仪\n勘查箱\n",
            "legal_refs": "《中华人民共和国刑法》第二百六十四条\n《中华人民共和国治安管理处罚法》",
            "active": "on",
        },
    )
    db.session.expire_all()
    theft = db.session.get(Category, theft.id)
    assert theft.guide == "先核实被盗财物与时间,调取周边监控" and theft.equipment == ["执法记录仪", "勘查箱"]
    assert theft.legal_refs[0] == "《中华人民共和国刑法》第二百六十四条" and theft.active
    [entry] = actions("category.updated")
    assert (entry.actor_id, entry.subject_id) == (world.officer(ADMIN).id, theft.id)
    assert "执法记录仪" in browser.get("/console/admin/categories/0101").get_data(as_text=True)

    browser.post(
        "/console/admin/categories/0101",
        data={"csrf_token": token, "name": name, "guide": "x", "equipment": "", "legal_refs": "y", "active": "on"},
    )
    assert "请至少列出一件装备" in browser.get("/console/admin/categories/0101").get_data(as_text=True)
    assert browser.get("/console/admin/categories/9999").status_code == 404
    assert len(actions("category.updated")) == 1


# -- doorplates -----------------------------------------------------------------------------------------------


GOOD_CSV = (
    "门牌编码,地址,经度,纬度,单位代码\n"
    "JB-0100,示范市江滨区滨江大道200号,120.2200,30.2200,33010301\n"
    "JB-0101,示范市江滨区滨江大道202号,120.2205,30.2203,33010301\n"
)


def upload(browser, token: str, data: bytes):
    return browser.post(
        "/console/admin/doorplates/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "doorplates.csv")},
        content_type="multipart/form-data",
    )


def test_an_admin_imports_a_doorplate_csv_all_or_nothing_with_errors_by_line(client, world, county_admin):
    browser = admin_client(client.application, COUNTY_ADMIN, PASSWORD)
    token = token_of(browser, "/console/admin/doorplates/")
    before = (count(Doorplate), count(AuditEntry))

    bad = (
        GOOD_CSV
        + "JB-0102,示范市江滨区滨江大道204号,经度不详,30.22,33010301\n"
        + "XH-0100,示范市东湖区西湖路99号,120.14,30.26,33010202\n"
    )
    refused = upload(browser, token, bad.encode("utf-8"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="import-errors"' in html
    assert "第4行：经度「经度不详」不是数字" in html
    assert "第5行：单位代码 33010202 不存在" in html  # another county's station: as if it did not exist
    assert "第2行" not in html and "第3行" not in html
    assert (count(Doorplate), count(AuditEntry)) == before
    assert upload(browser, "", GOOD_CSV.encode()).status_code == 400
    assert (count(Doorplate), count(AuditEntry)) == before

    done = upload(browser, token, GOOD_CSV.encode("gb18030"))
    assert done.status_code == 302
    assert "新增2" in browser.get("/console/admin/doorplates/").get_data(as_text=True)
    assert plate("JB-0100").unit_id == unit("33010301").id
    [entry] = actions("doorplates.imported")
    assert entry.actor_id == county_admin.id and '"created_count": 2' in entry.detail

    page = browser.get("/console/admin/doorplates/", query_string={"q": "滨江大道20"}).get_data(as_text=True)
    assert re.findall(r'<tr data-code="([\w-]+)"', page) == ["JB-0100", "JB-0101"]
    every = browser.get("/console/admin/doorplates/").get_data(as_text=True)
    assert "DH-0001" not in every and "JB-0001" in every


def test_an_admin_revokes_moves_and_prints_only_the_unit_s_doorplates(client, world, county_admin):
    browser = admin_client(client.application, COUNTY_ADMIN, PASSWORD)
    token = token_of(browser, "/console/admin/doorplates/")

    for path, form in (
        ("/console/admin/doorplates/DH-0001/revoke", {"reason": "越权"}),
        ("/console/admin/doorplates/DH-0001/move", {"to": "JB-0001"}),
        ("/console/admin/doorplates/NO-SUCH/revoke", {"reason": "不存在"}),
    ):
        assert browser.post(path, data={"csrf_token": token, **form}).status_code == 404
    assert browser.post("/console/admin/doorplates/JB-0001/revoke", data={"reason": "无令牌"}).status_code == 400
    browser.post("/console/admin/doorplates/JB-0001/move", data={"csrf_token": token, "to": "DH-0001"})
    assert "未找到" in browser.get("/console/admin/doorplates/").get_data(as_text=True)
    db.session.expire_all()
    assert plate("DH-0001").is_active and plate("JB-0001").is_active
    assert actions("doorplate.revoked") == actions("doorplate.moved") == []

    sheet = browser.post("/console/admin/doorplates/sheet", data={"csrf_token": token, "codes": ["JB-0001", "JB-0002"]})
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf" and sheet.data.startswith(b"%PDF")
    foreign = browser.post(
        "/console/admin/doorplates/sheet", data={"csrf_token": token, "codes": ["JB-0001", "DH-0001"]}
    )
    assert foreign.status_code == 302

    browser.post(
        "/console/admin/doorplates/JB-0001/move", data={"csrf_token": token, "to": "JB-0002", "reason": "门牌重编"}
    )
    browser.post("/console/admin/doorplates/JB-0002/revoke", data={"csrf_token": token, "reason": "门牌被损毁"})
    db.session.expire_all()
    assert (plate("JB-0001").status, plate("JB-0001").moved_to_id) == ("moved", plate("JB-0002").id)
    assert plate("JB-0002").status == "revoked"
    [moved], [revoked] = actions("doorplate.moved"), actions("doorplate.revoked")
    assert moved.actor_id == revoked.actor_id == county_admin.id
    assert "门牌被损毁" in revoked.detail
    refused = browser.post("/console/admin/doorplates/JB-0002/revoke", data={"csrf_token": token, "reason": "再停一次"})
    assert refused.status_code == 302 and len(actions("doorplate.revoked")) == 1


# -- case causes ----------------------------------------------------------------------------------------------


def test_an_admin_keeps_the_cause_list_add_rename_deactivate_and_delete_only_an_unused_cause(client, world, citizen):
    browser = admin_client(client.application)
    page = browser.get("/console/admin/causes").get_data(as_text=True)
    assert 'data-code="X0101"' in page and "盗窃案" in page and 'id="admin-causes"' in page
    token = csrf_of(page)

    # A case names 盗窃案: it may be renamed and deactivated, never deleted.
    station = world.officer("100002")
    incident = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="车被偷",
        doorplate=seed.doorplate("DH-0001"),
        category=seed.category("0101"),
    )
    for status in (IncidentStatus.DISPATCHED, IncidentStatus.ON_SCENE, IncidentStatus.HANDLED, IncidentStatus.ACCEPTED):
        incidents.change_status(incident=incident, actor=station, status=status)
    cases.change_cause(case=db.session.get(Case, incident.id), actor=station, cause_code="X0101", reason="盗窃")
    db.session.commit()
    client.application.extensions["wx110.dispatcher"].drain()  # the steps' background jobs write their entries

    before = count(AuditEntry)
    refused = browser.post("/console/admin/causes", data={"code": "X0199", "name": "测试案", "case_type": "criminal"})
    assert refused.status_code == 400 and causes.find("X0199") is None  # no CSRF token: nothing changes
    for form, message in (
        ({"code": "X0101", "name": "另一个", "case_type": "criminal"}, "案由代码 X0101 已存在"),
        ({"code": "x-1", "name": "坏代码", "case_type": "criminal"}, "案由代码须为大写字母开头"),
        ({"code": "X0199", "name": "", "case_type": "criminal"}, "请填写案由名称"),
        ({"code": "X0199", "name": "测试案", "case_type": "civil"}, "请选择案件类型"),
        ({"code": "X0199", "name": "盗窃案", "case_type": "criminal"}, "已有同名案由"),
    ):
        answer = browser.post("/console/admin/causes", data={"csrf_token": token, **form}, follow_redirects=True)
        assert message in answer.get_data(as_text=True), form
    assert count(AuditEntry) == before and count(CaseCause) == 38

    browser.post(
        "/console/admin/causes",
        data={"csrf_token": token, "code": "z0299", "name": "测试治安案", "case_type": "public_order"},
    )
    added = causes.find("Z0299")
    assert added is not None and added.case_type == "public_order" and added.active
    assert [c.code for c in causes.of_type("public_order")][-1] == "Z0299"  # at the end of the list
    browser.post("/console/admin/causes/X0101/name", data={"csrf_token": token, "name": "盗窃案(含入户盗窃)"})
    browser.post("/console/admin/causes/X0101/active", data={"csrf_token": token, "active": "0"})
    deleted = browser.post("/console/admin/causes/X0101/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "已被案件使用,不能删除" in deleted.get_data(as_text=True)
    browser.post("/console/admin/causes/Z0299/delete", data={"csrf_token": token})
    assert browser.post("/console/admin/causes/NOPE1/name", data={"csrf_token": token, "name": "x"}).status_code == 404

    db.session.expire_all()
    thief = causes.find("X0101")
    assert thief.name == "盗窃案(含入户盗窃)" and not thief.active and causes.find("Z0299") is None
    assert "X0101" not in [c.code for c in causes.of_type("criminal")]  # no longer offered...
    text = admin_client(client.application, "100002").get(f"/console/cases/{incident.id}").get_data(as_text=True)
    assert 'id="cause">盗窃案(含入户盗窃)<' in text  # ...but the case still reads its cause, by its new name
    assert 'value="X0101"' not in text.split('id="cause-form"')[1].split("</form>")[0]
    audited = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("cause.%")).order_by(AuditEntry.seq)
    ).all()
    assert audited == ["cause.added", "cause.renamed", "cause.deactivated", "cause.deleted"]
