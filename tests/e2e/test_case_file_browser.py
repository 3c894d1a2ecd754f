"""The case file in headless Chromium against a running server: the officer goes from the incident to its case,
gives it a cause, registers a seized item and hands it to the property room through the forms, and prints the
property list with its chain of custody; another station's officer gets a missing page."""

import pytest

from casework import citizens, incidents, seed
from casework.db import db
from casework.status import Channel, IncidentStatus
from tests.live_server import serving

S = IncidentStatus


@pytest.fixture
def live(make_app):
    app = make_app()
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        citizen = citizens.identify(oa_openid="openid-case-browser")
        incident = incidents.report(
            citizen=citizen,
            channel=Channel.WECHAT,
            description="电动车被偷",
            doorplate=seed.doorplate("DH-0001"),
            category=seed.category("0101"),
        )
        for status in (S.DISPATCHED, S.ON_SCENE, S.HANDLED, S.ACCEPTED):
            incidents.change_status(incident=incident, actor=seed.officer("100002"), status=status)
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


def test_the_officer_works_the_case_and_prints_the_property_list(browser, live):
    base_url, incident_id = live
    page = browser.new_context(locale="zh-CN").new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base_url, "100002")
    page.goto(f"{base_url}/console/incidents/{incident_id}")
    page.click("#case-link")
    page.wait_for_selector("#case-number")
    assert page.inner_text("#case-stage") == "受案"

    page.select_option('#cause-form select[name="cause"]', "X0101")
    page.fill('#cause-form input[name="reason"]', "电动车被盗")
    page.click("#cause-submit")
    page.wait_for_selector("#cause-history tbody tr")
    assert page.inner_text("#cause") == "盗窃案"

    page.click("#tab-property")
    page.fill('#seize-form input[name="description"]', "蓝色电动车一辆")
    page.fill('#seize-form input[name="quantity"]', "1")
    page.fill('#seize-form input[name="quantity_unit"]', "辆")
    page.click("#seize-submit")
    page.wait_for_selector("#property tbody tr[id^=item-]")
    row = page.locator("#property tbody tr[id^=item-]").first
    row.locator('select[name="kind"]').select_option("stored")
    row.locator('select[name="receiver"]').select_option(label="黄敏(100003 · 保管员 · 东湖派出所)")
    row.locator('button[type="submit"]').click()
    page.wait_for_selector("text=在库")

    page.click("#print-list")
    page.wait_for_selector("#property-list")
    printed = page.inner_text("#property-list")
    assert "蓝色电动车一辆" in printed and "林晓 → 黄敏(保管员)" in printed
    assert not [e for e in errors if "Content Security Policy" in e]

    stranger = browser.new_context(locale="zh-CN").new_page()
    log_in(stranger, base_url, "100006")
    answer = stranger.goto(f"{base_url}/console/cases/{incident_id}/property/print")
    assert answer.status == 404 and "蓝色电动车" not in stranger.content()
