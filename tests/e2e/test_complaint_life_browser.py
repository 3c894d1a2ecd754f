"""A complaint's whole life through the HTTP channels and the console in headless Chromium: filed in chat (signed
XML to /wechat) -> in the station's inbox and the supervision queue -> accepted, the station's explanation asked
for and given, the verdict, the answer -> the answer pushed to the citizen's WeChat (the fake API records it) and
shown in chat and in the mini-program -> rated unsatisfied in the mini-program -> reopened once -> answered again
-> rated in chat -> closed, and no third review."""

import re
import time
import uuid

import pytest
import requests
from sqlalchemy import select

from casework import citizens, seed
from casework.db import db
from casework.models import AuditEntry, Complaint
from tests.live_server import serving
from tests.wechat_side import Sender, wechat_config

CITIZEN = "o-complaint-life"
MINI = "o-complaint-life-mini"
UNION = "u-complaint-life"
SUPERVISOR, STATION = "100005", "100002"  # 郑督 (the city), 林晓 (东湖派出所)
PUSHED = "/cgi-bin/message/custom/send"


@pytest.fixture
def live(make_app, fake):
    app = make_app(
        **wechat_config(fake),
        MINIAPP_APPID=f"wx-{uuid.uuid4().hex[:8]}",
        MINIAPP_SECRET="s",
        CONSOLE_SECURE_COOKIES=False,
    )
    fake.unionids[MINI] = UNION
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        citizens.identify(oa_openid=CITIZEN, unionid=UNION)  # the same person in the mini-program (by unionid)
        db.session.commit()
        with serving(app, public=True) as base_url:
            yield base_url
        db.session.remove()


def chat(sender: Sender, text: str = "", **fields) -> str:
    message = {"ToUserName": "gh_wx110", "FromUserName": CITIZEN, "CreateTime": str(int(time.time()))}
    message.update({"MsgType": "text", "Content": text, "MsgId": str(uuid.uuid4().int % 10**18)} | fields)
    return sender.reply(message)


def log_in(page, base: str, badge: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#badge_no", badge)
    page.fill("#password", seed.DEMO_PASSWORD)
    page.click("#login")
    page.wait_for_selector("#who")


def until(check, what: str, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pushed_texts(fake) -> list[str]:
    return [(c.body or {}).get("text", {}).get("content", "") for c in fake.sent(PUSHED)]


def test_a_complaint_s_whole_life_through_chat_the_console_and_the_mini_program(browser, live, fake):
    sender = Sender(f"{live}/wechat")
    # A report from a location message at 东湖路1号 (东湖派出所), then a complaint about it in chat.
    received = chat(
        sender, MsgType="location", Location_X="30.2741", Location_Y="120.1551", Scale="16", Label="东湖路1号"
    )
    incident_number = re.search(r"JQ\d+", received).group(0)
    assert incident_number in chat(sender, "投诉")
    filed = chat(sender, "民警到场后没有调解就走了,问题没有解决。")
    number = re.search(r"TS\d+", filed).group(0)

    supervisor = browser.new_context(locale="zh-CN").new_page()
    station = browser.new_context(locale="zh-CN").new_page()
    log_in(supervisor, live, SUPERVISOR)
    log_in(station, live, STATION)

    def in_queue():
        supervisor.goto(f"{live}/console/supervision/complaints")
        return supervisor.locator(f'tr[data-number="{number}"]').count() == 1

    until(in_queue, "the complaint in the supervision queue")  # routed through the outbox
    station.goto(f"{live}/console/complaints")
    card = station.locator(f'section.complaint[data-number="{number}"]')
    assert "民警到场后没有调解就走了" in card.inner_text() and "尚未要求" in card.inner_text()
    assert "剩余" in supervisor.inner_text(f'tr[data-number="{number}"] .due')

    def first_review(review: int, answer: str) -> None:
        supervisor.goto(f"{live}/console/supervision/complaints")
        supervisor.click(f'tr[data-number="{number}"] a')
        if review == 1:
            assert incident_number in supervisor.inner_text("#incident-link")
            supervisor.click("#accept")
            supervisor.locator(".flash", has_text="已受理该投诉").wait_for()
        else:
            supervisor.locator("h1", has_text="第二次复查").wait_for()
        supervisor.fill("#explanation-request", f"第{review}次:请说明为何未调解")
        supervisor.click("#request-explanation")
        supervisor.locator("#complaint-status", has_text="待单位说明").wait_for()

        station.goto(f"{live}/console/complaints")
        card = station.locator(f'section.complaint[data-number="{number}"]')
        assert f"第{review}次:请说明为何未调解" in card.inner_text() and "前作出情况说明" in card.inner_text()
        card.locator("textarea[name=explanation]").fill(f"第{review}次说明:当晚双方情绪激动,约定次日调解")
        card.locator("button[type=submit]").click()
        station.locator(".flash", has_text="已提交情况说明").wait_for()

        supervisor.reload()
        assert f"第{review}次说明" in supervisor.inner_text("#unit-explanation")
        supervisor.select_option("#verdict-choice", "partly_substantiated")
        supervisor.fill("#verdict-action", "责令东湖派出所书面检查")
        supervisor.click("#give-verdict")
        supervisor.locator("#verdict", has_text="投诉部分属实").wait_for()
        supervisor.fill("#answer-text", answer)
        supervisor.click("#send-answer")
        supervisor.locator("#complaint-status", has_text="已答复待评价").wait_for()
        timeline = supervisor.inner_text("#steps")
        for step in ("群众提交投诉", "转交办案单位", "转交督察部门", "单位提交情况说明", "作出调查结论", "答复投诉人"):
            assert step in timeline
        until(lambda: any(answer in text for text in pushed_texts(fake)), "the answer pushed to WeChat")

    first_review(1, "经核查部分属实,已责令整改。")
    mine = chat(sender, "我的投诉")
    assert number in mine and "已答复" in mine and "经核查部分属实,已责令整改。" in mine

    api = f"{live}/api/miniapp/v1"
    token = requests.post(f"{api}/session", json={"code": f"code-{MINI}"}, timeout=10).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    [listed] = requests.get(f"{api}/complaints", headers=headers, timeout=10).json()
    assert (listed["number"], listed["status_label"]) == (number, "已答复")
    assert listed["answer"] == "经核查部分属实,已责令整改。" and listed["can_rate"] is True
    rated = requests.post(f"{api}/complaints/{listed['id']}/rating", json={"rating": 1}, headers=headers, timeout=10)
    assert rated.status_code == 200 and rated.json()["status"] == "accepted"  # reopened for a second review
    assert rated.json()["status_label"] == "已受理" and rated.json()["can_rate"] is False
    assert (rated.json()["review"], rated.json()["first_answer"]) == (2, "经核查部分属实,已责令整改。")

    first_review(2, "复查后:已组织双方调解,纠纷化解。")
    assert len([t for t in pushed_texts(fake) if number in t and "答复" in t]) == 2  # each answer pushed once
    # The second answer is rated in chat this time: closed, whatever the score (there is no third review).
    assert "复查后:已组织双方调解" in chat(sender, "我的投诉")
    asked = chat(sender, "评价投诉")
    assert number in asked and "重新复查" not in asked
    assert "请回复1到5" in chat(sender, "九")
    assert f"投诉 {number} 已办结" in chat(sender, "2")
    shown = requests.get(f"{api}/complaints/{listed['id']}", headers=headers, timeout=10).json()
    assert (shown["status"], shown["status_label"], shown["rating"]) == ("closed", "已办结", 2)
    again = requests.post(f"{api}/complaints/{listed['id']}/rating", json={"rating": 1}, headers=headers, timeout=10)
    assert again.status_code == 409  # rated; and there is no third review
    assert "没有待评价" in chat(sender, "评价投诉")
    assert "已办结" in chat(sender, "我的投诉")

    supervisor.goto(f"{live}/console/supervision/complaints?status=closed")
    supervisor.wait_for_selector(f'tr[data-number="{number}"]')
    supervisor.goto(f"{live}/console/supervision/complaints")
    assert supervisor.locator(f'tr[data-number="{number}"]').count() == 0  # off the open queue

    with db.session.no_autoflush:
        complaint = db.session.scalar(select(Complaint).where(Complaint.number == number))
        db.session.refresh(complaint)
        assert complaint.review == 2 and complaint.first_rating == 1 and complaint.closed_at is not None
        actions = db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "complaint", AuditEntry.subject_id == complaint.id)
            .order_by(AuditEntry.seq)
        ).all()
    assert actions.count("complaint.reopened") == 1 and actions[-1] == "complaint.closed"
    assert actions.count("complaint.answered") == 2 and actions.count("complaint.explained") == 2
