"""The cause list's admin page in headless Chromium against a running server: the admin adds a cause, renames it
and deactivates it through the forms; a cause a case uses offers no delete button; an officer's case page then
offers the new cause and not the deactivated one; a dispatcher gets 403."""

import pytest

from casework import cases, citizens, incidents, seed
from casework.db import db
from casework.models import Case
from casework.status import Channel, IncidentStatus
from tests.live_server import serving

S = IncidentStatus


@pytest.fixture
def live(make_app):
    app = make_app()
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        citizen = citizens.identify(oa_openid="openid-cause-browser")
        incident = incidents.report(
            citizen=citizen,
            channel=Channel.WECHAT,
            description="钱包被偷",
            doorplate=seed.doorplate("DH-0001"),
            category=seed.category("0101"),
        )
        for status in (S.DISPATCHED, S.ON_SCENE, S.HANDLED, S.ACCEPTED):
            incidents.change_status(incident=incident, actor=seed.officer("100002"), status=status)
        cases.change_cause(
            case=db.session.get(Case, incident.id), actor=seed.officer("100002"), cause_code="X0101", reason="盗窃"
        )
        incident_id = incident.id
        db.session.commit()
        app.extensions["wx110.dispatcher"].drain()
        db.session.remove()  # hold no transaction while the server writes (SQLite)
        with serving(app) as base_url:
            yield base_url, incident_id
        db.session.remove()


def log_in(page, base_url, badge):
    page.goto(f"{base_url}/console/login")
    page.fill("#badge_no", badge)
    page.fill("#password", seed.DEMO_PASSWORD)
    page.click("#login")
    page.wait_for_selector("main")


def test_the_admin_keeps_the_cause_list_through_its_page(browser, live):
    base_url, incident_id = live
    page = browser.new_context(locale="zh-CN").new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base_url, "100000")
    page.click("#admin")
    page.click("#admin-causes")
    page.wait_for_selector("#causes")
    used = page.locator('#causes tr[data-code="X0101"]')
    assert "已使用" in used.inner_text() and used.locator("form.delete").count() == 0

    page.fill('#add-cause input[name="code"]', "X0150")
    page.fill('#add-cause input[name="name"]', "非法捕捞水产品案")
    page.select_option('#add-cause select[name="case_type"]', "criminal")
    page.click('#add-cause button[type="submit"]')
    page.wait_for_selector("text=已新增案由")
    row = page.locator('#causes tr[data-code="X0150"]')
    assert "刑事案件" in row.inner_text() and row.locator("form.delete").count() == 1

    row.locator('form.rename input[name="name"]').fill("非法捕捞水产品罪案")
    row.locator("form.rename button").click()
    page.wait_for_selector("text=已更名")
    assert page.locator('#causes tr[data-code="X0150"] input[name="name"]').input_value() == "非法捕捞水产品罪案"

    page.locator('#causes tr[data-code="X0104"] form.toggle button').click()
    page.wait_for_selector("text=已停用")
    assert "停用" in page.locator('#causes tr[data-code="X0104"] td.state').inner_text()
    assert not [e for e in errors if "Content Security Policy" in e]

    officer = browser.new_context(locale="zh-CN").new_page()
    log_in(officer, base_url, "100002")
    officer.goto(f"{base_url}/console/cases/{incident_id}")
    offered = officer.locator('#cause-form select[name="cause"] option').all_inner_texts()
    assert "非法捕捞水产品罪案" in offered and "抢劫案" not in offered and "盗窃案" in offered

    dispatcher = browser.new_context(locale="zh-CN").new_page()
    log_in(dispatcher, base_url, "100001")
    assert dispatcher.goto(f"{base_url}/console/admin/causes").status == 403
