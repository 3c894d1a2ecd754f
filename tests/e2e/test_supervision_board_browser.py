"""The supervision board in headless Chromium against a running server: under the console's strict CSP the
vendored Chart.js draws the trend, the red tile drills down to the warning list and a warning to its incident,
and the officer answers a rectification notice through the form."""

from datetime import UTC, datetime, timedelta

import pytest

from casework import citizens, incidents, seed
from casework.db import db
from casework.status import Channel
from supervision import sweep
from tests.live_server import serving


@pytest.fixture
def live(make_app):
    app = make_app()
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        citizen = citizens.identify(oa_openid="openid-board-browser")
        incident = incidents.report(
            citizen=citizen, channel=Channel.WECHAT, description="无人派警", doorplate=seed.doorplate("DH-0001")
        )
        number = incident.number
        db.session.commit()
        app.extensions["wx110.dispatcher"].drain()
        sweep.sweep(now=datetime.now(UTC) + timedelta(hours=1))  # yellow, then red: never dispatched
        db.session.remove()  # hold no transaction while the server writes (SQLite)
        with serving(app) as base_url:
            yield base_url, number
        db.session.remove()


def log_in(page, base_url, badge):
    page.goto(f"{base_url}/console/login")
    page.fill("#badge_no", badge)
    page.fill("#password", seed.DEMO_PASSWORD)
    page.click("#login")
    page.wait_for_selector("main")


def test_the_board_draws_its_chart_and_drills_down_to_the_incident(browser, live):
    base_url, number = live
    page = browser.new_context(locale="zh-CN").new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base_url, "100005")  # the city's supervisor
    page.click("#board")
    page.wait_for_selector('#trend-chart[data-drawn="yes"]', timeout=10_000)  # Chart.js ran under the CSP
    assert page.inner_text('a.tile[data-colour="red"] strong') == "1"
    page.click('a.tile[data-colour="red"]')
    page.click(f'#warning-rows a:has-text("{number}")')
    page.click("#drill-incident")
    page.wait_for_selector("#description")
    assert "无人派警" in page.inner_text("#description")
    assert not [e for e in errors if "Content Security Policy" in e]

    officer = browser.new_context(locale="zh-CN").new_page()
    log_in(officer, base_url, "100002")
    assert officer.inner_text("#warning-badge") == "1"
    officer.click("#warnings")
    officer.click(f'#warning-rows a:has-text("{number}")')
    officer.fill('#rectify-form textarea[name="rectification"]', "已补派警力")
    officer.click("#rectify-form button")
    officer.wait_for_selector("#rectification")
    assert officer.inner_text("#rectification") == "已补派警力"
    assert "已整改,待系统核验" in officer.inner_text("#warning-state")
