"""The whole loop in two headless Chromium tabs against a running server: a citizen reports in the WeChat
simulator, the report appears in the dispatcher's queue without a reload, the dispatcher answers in the chat and
moves it to dispatched, and the simulator shows the answer and the new status pushed to the citizen."""

import re

import pytest

from casework import seed
from casework.db import db
from tests.live_server import serving
from tests.wechat_side import wechat_config

CITIZEN = "o-loop-citizen"


@pytest.fixture
def live(make_app, fake):
    app = make_app(**wechat_config(fake))  # WeChat is the loopback fake: the simulator is on
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
        with serving(app, public=True) as base_url:
            yield base_url
        db.session.remove()


def test_report_in_the_simulator_answer_in_the_console_and_see_it_in_the_simulator(browser, live):
    the_loop(browser, live)


def the_loop(browser, live: str, *, number_from_pushes: bool = False) -> None:
    """The loop through two tabs against the service at `live`; with `number_from_pushes` (WECHAT_REPLY_MODE
    queued) the callback answers `success` and the incident's number comes as a pushed message."""
    console = browser.new_context(locale="zh-CN").new_page()
    console.goto(f"{live}/console/login")
    console.fill("#badge_no", "100007")  # the command centre: sees reports not yet routed to a station
    console.fill("#password", seed.DEMO_PASSWORD)
    console.click("#login")
    console.wait_for_selector("table.queue")
    assert console.locator("tr[data-number]").count() == 0

    phone = browser.new_context(viewport={"width": 420, "height": 900}, locale="zh-CN").new_page()
    phone.goto(f"{live}/console/simulator/?openid={CITIZEN}")
    phone.fill("#text", "小区门口有人持刀打架,快来")
    phone.click("#send")
    received = phone.locator("#pushes .push" if number_from_pushes else "#bubbles li.theirs", has_text="JQ").first
    received.wait_for(timeout=40_000)
    number = re.search(r"JQ\d+", received.inner_text()).group(0)

    # the queue polls: the row appears in the open page, no reload
    console.wait_for_selector(f'tr[data-number="{number}"]', timeout=15_000)
    console.click(f'tr[data-number="{number}"] a')
    console.wait_for_selector("#reply")
    assert "小区门口有人持刀打架" in console.inner_text("#description")
    console.fill("#reply", "民警已出发,请在安全处等候")
    console.click("#send-reply")
    console.wait_for_selector("#reply")
    console.fill('form.step:has(button[data-status="dispatched"]) input[name="public_note"]', "两名民警五分钟内到达")
    console.click('button[data-status="dispatched"]')
    console.locator("#status", has_text="已派警").wait_for()  # (the page's CSP forbids evaluated scripts)

    # the simulator polls what was pushed to the citizen: the answer, then the new status with its note
    pushes = phone.locator("#pushes .push")
    pushes.filter(has_text="民警已出发,请在安全处等候").wait_for(timeout=30_000)
    pushes.filter(has_text="已派警").wait_for(timeout=30_000)
    assert any("两名民警五分钟内到达" in text for text in pushes.all_inner_texts())
    assert "民警已出发,请在安全处等候" in console.inner_text("#chat-messages")
