"""The WeChat simulator in headless Chromium, configured as the demo is (an AES key, plaintext refused): text, a
location, a video, a doorplate scan and the official account's menu buttons each get their real answer, in
Chinese, sealed and opened like WeChat's; `/` and the console link to it."""

import pytest

from bot.menu import menu
from casework import citizens, complaints, incidents, seed
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.status import Channel
from tests.complaint_steps import walk
from tests.live_server import serving
from tests.wechat_side import wechat_config

CITIZEN = "o-sim-browser"


@pytest.fixture
def live(make_app, fake):
    # As `./wx110 demo` configures it: safe mode only, with the loopback fake as WeChat and its menu published.
    app = make_app(**wechat_config(fake, WECHAT_ALLOW_PLAINTEXT=False), CONSOLE_SECURE_COOKIES=False)
    fake.menu = menu()
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
        with serving(app, public=True) as base_url:
            yield base_url
        db.session.remove()
    app.extensions["wx110.dispatcher"].drain()


def answer_to(phone, count: int) -> str:
    """The simulator's `count`-th answer bubble, once it is there."""
    answers = phone.locator("#bubbles li.theirs")
    answers.nth(count - 1).wait_for(timeout=30_000)
    return answers.nth(count - 1).inner_text()


def test_every_kind_of_message_and_the_menu_get_their_real_answer_in_safe_mode(browser, live):
    home = browser.new_context(locale="zh-CN").new_page()
    home.goto(live)
    home.click("#simulator")  # linked from / while WeChat is the loopback fake
    home.wait_for_selector(".phone")
    assert "安全模式" in home.inner_text("body")

    phone = browser.new_context(viewport={"width": 420, "height": 900}, locale="zh-CN").new_page()
    phone.goto(f"{live}/console/simulator/?openid={CITIZEN}")
    assert [b.inner_text() for b in phone.locator("#menu button").all()] == [
        "我要报警",
        "扫门牌报警",
        "我的报警",
        "办理进度",
        "投诉举报",
        "我的投诉",
    ]
    phone.fill("#text", "楼下有人打架")
    phone.click("#send")
    reported = answer_to(phone, 1)
    assert "警情编号 JQ" in reported, reported
    phone.click("#send-location")
    assert answer_to(phone, 2) and "safe mode" not in answer_to(phone, 2)
    phone.click("#send-video")
    assert "视频" in answer_to(phone, 3), answer_to(phone, 3)
    phone.select_option("#doorplate", "DH-0002")
    phone.click("#send-scan")
    assert "示范市东湖区东湖路3号" in answer_to(phone, 4)
    phone.click("#menu button[data-key='MY_REPORTS']")
    assert "JQ" in answer_to(phone, 5)
    phone.click("#menu button[data-key='PROGRESS']")
    assert answer_to(phone, 6)
    texts = phone.locator("#bubbles li.theirs").all_inner_texts()
    assert not any(word in text for text in texts for word in ("safe mode", "plaintext", "HTTP 4", "无法解读"))


def test_after_a_low_rating_my_complaints_says_under_review_not_reviewed(browser, live):
    """The complainant rates the answer 2 in the simulator: 「我的投诉」 then says the first answer is under review,
    never that a review happened, while the complaint is back with supervision."""
    openid = "o-sim-rating"
    citizen = citizens.identify(oa_openid=openid)
    incident = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="电动车被偷", doorplate=seed.doorplate("DH-0001")
    )
    complaint = complaints.file(citizen=citizen, incident=incident, body="出警太慢")
    walk(complaint, ComplaintStatus.ANSWERED, supervisor=seed.officer("100005"), explainer=seed.officer("100002"))
    db.session.commit()

    phone = browser.new_context(viewport={"width": 420, "height": 900}, locale="zh-CN").new_page()
    phone.goto(f"{live}/console/simulator/?openid={openid}")
    phone.fill("#text", "评价投诉")
    phone.click("#send")
    assert "1到5" in answer_to(phone, 1)
    phone.fill("#text", "2")
    phone.click("#send")
    assert "重新复查" in answer_to(phone, 2)
    phone.click("#menu button[data-key='MY_COMPLAINTS']")
    mine = answer_to(phone, 3)
    assert "(您评价不满意,督察部门正在复查)" in mine and "已复查" not in mine, mine
