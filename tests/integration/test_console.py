"""The officer console through its HTTP surface (Flask's test client on the real database): login with argon2
and lockout, CSRF, the queue and the case page limited by unit, the officer's actions, evidence with ranges."""

import io
import re
from datetime import timedelta

import pytest
from flask import g, has_app_context, request_started
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from werkzeug.security import generate_password_hash

from casework import citizens, clock, incidents, seed
from casework.db import db
from casework.models import (
    AttachmentKind,
    AuditEntry,
    Category,
    ChatMessage,
    Complaint,
    Doorplate,
    Incident,
    LoginFailure,
    Officer,
    OutboxMessage,
    Unit,
)
from casework.status import Channel, IncidentStatus
from console.views import QUEUE_REFRESH_SECONDS
from media.storage import storage

PASSWORD = seed.DEMO_PASSWORD
STATION_A = "100002"  # 林晓, 东湖派出所
STATION_B = "100006"  # 周航, 西湖路派出所


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client, badge_no: str, password: str = PASSWORD, address: str = "10.0.0.1"):
    client.environ_base["REMOTE_ADDR"] = address  # this browser's address from now on
    token = csrf_of(client.get("/console/login").get_data(as_text=True))
    return client.post("/console/login", data={"badge_no": badge_no, "password": password, "csrf_token": token})


def listed(client, path: str = "/console/queue/rows", **query) -> list[str]:
    """The incident numbers a queue page lists, newest first."""
    return re.findall(r'data-number="(\w+)"', client.get(path, query_string=query).get_data(as_text=True))


def actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def report_at(citizen, code: str, description: str = "楼下有人打架") -> Incident:
    plate = db.session.scalar(select(Doorplate).where(Doorplate.code == code))
    return incidents.report(citizen=citizen, channel=Channel.WECHAT, description=description, doorplate=plate)


class Browser(FlaskClient):
    """A test client whose requests forget what Flask-Login (the user) and Flask-WTF (the CSRF token) cache on
    `g`: the tests hold an app context open (for the database), which every request would otherwise share."""

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
            g.pop("csrf_token", None)
        return super().open(*args, **kwargs)


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)  # the test client speaks plain HTTP to "localhost"
    app.test_client_class = Browser
    return app


# -- login ----------------------------------------------------------------------------------------------------


def test_login_upgrades_an_old_hash_to_argon2_and_is_audited(client, world):
    officer = world.officer(STATION_A)
    officer.password_hash = generate_password_hash(PASSWORD, method="scrypt")  # as sessions before argon2 stored it
    db.session.commit()

    answer = log_in(client, STATION_A)

    assert answer.status_code == 302 and answer.headers["Location"].endswith("/console/")
    db.session.expire_all()
    assert world.officer(STATION_A).password_hash.startswith("$argon2id$")
    [entry] = actions("officer.logged_in")
    assert (entry.actor_kind, entry.actor_id, entry.subject_id) == ("officer", officer.id, officer.id)
    assert '"hash_upgraded": true' in entry.detail
    page = client.get("/console/")
    assert page.status_code == 200 and "林晓" in page.get_data(as_text=True)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

    client.post("/console/logout", data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert client.get("/console/").status_code == 302
    assert len(actions("officer.logged_out")) == 1
    # the upgraded hash opens the console again, and is not rewritten
    stored = world.officer(STATION_A).password_hash
    assert log_in(client, STATION_A).status_code == 302
    db.session.expire_all()
    assert world.officer(STATION_A).password_hash == stored


def test_the_session_cookie_is_secure_by_default(make_app, world):
    secure_app = make_app()
    secure_app.test_client_class = Browser
    answer = log_in(secure_app.test_client(), STATION_A)
    assert "Secure" in answer.headers["Set-Cookie"]


def test_a_wrong_password_and_an_unknown_badge_answer_alike(client, world):
    wrong = log_in(client, STATION_A, "not-the-password")
    unknown = log_in(client, "999999", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    for answer in (wrong, unknown):
        assert "警号或密码错误" in answer.get_data(as_text=True)
    assert [e.subject_id for e in actions("officer.login_failed")] == [world.officer(STATION_A).id, None]
    assert actions("officer.logged_in") == []


def test_five_wrong_passwords_lock_the_account_for_the_configured_time(client, world):
    start = clock.now().replace(microsecond=0)
    clock.freeze(start)
    officer = world.officer(STATION_A)
    answers = [log_in(client, STATION_A, f"guess-{n}") for n in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert "15 分钟后再试" in answers[-1].get_data(as_text=True)
    [locked] = actions("officer.locked_out")
    assert locked.subject_id == officer.id

    # locked: even the right password is refused (and not checked), and that is audited
    clock.freeze(start + timedelta(minutes=10))
    refused = log_in(client, STATION_A)
    assert refused.status_code == 429 and "5 分钟后再试" in refused.get_data(as_text=True)
    assert len(actions("officer.login_refused")) == 1
    assert actions("officer.logged_in") == []

    clock.freeze(start + timedelta(minutes=15, seconds=1))
    assert log_in(client, STATION_A).status_code == 302
    [good] = actions("officer.logged_in")
    assert good.actor_id == officer.id
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0  # a good login forgives


def test_failures_from_one_address_lock_that_address_for_every_badge(make_app, world):
    app = make_app(CONSOLE_SECURE_COOKIES=False, LOGIN_ADDRESS_FAILURES=3)
    app.test_client_class = Browser
    client = app.test_client()
    for badge in ("100002", "100003", "100006"):
        log_in(client, badge, "wrong", address="10.9.9.9")
    assert log_in(client, "100001", address="10.9.9.9").status_code == 429
    assert log_in(client, "100001", address="10.9.9.10").status_code == 302


def test_a_deactivated_officer_cannot_log_in_and_their_session_ends(client, world):
    assert log_in(client, STATION_A).status_code == 302
    officer = world.officer(STATION_A)
    officer.active = False
    db.session.commit()
    assert client.get("/console/").status_code == 302
    assert log_in(client, STATION_A).status_code == 401


def test_a_form_without_its_csrf_token_changes_nothing(client, world, citizen):
    incident = report_at(citizen, "DH-0001")
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    answer = client.post("/console/login", data={"badge_no": STATION_A, "password": PASSWORD})
    assert answer.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before

    assert log_in(client, STATION_A).status_code == 302
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    answer = client.post(f"/console/incidents/{incident.id}/status", data={"status": "dispatched"})
    assert answer.status_code == 400
    answer = client.post(f"/console/incidents/{incident.id}/reply", data={"body": "收到"})
    assert answer.status_code == 400
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == "received"
    assert db.session.scalar(select(func.count()).select_from(ChatMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_pages_need_a_login(client, world):
    for path in ("/console/", "/console/queue/rows", "/console/incidents/1", "/console/attachments/1"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]


def test_pages_carry_a_strict_content_security_policy(client, world):
    page = client.get("/console/login")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    html = page.get_data(as_text=True)
    assert "/console/static/vendor/htmx/htmx.min.js" in html and "http" not in re.findall(r'src="([^"]+)"', html)[0]
    assert client.get("/console/static/vendor/htmx/htmx.min.js").status_code == 200


# -- queue and case page by unit --------------------------------------------------------------------------------


def test_station_a_sees_its_incidents_and_not_station_b_s_by_list_search_or_link(client, world, citizen):
    ours = report_at(citizen, "DH-0001", "东湖路有人打架")
    theirs = report_at(citizen, "XH-0001", "西湖路有人吵架")
    citizen.phone = "13800001234"
    db.session.commit()
    log_in(client, STATION_A)

    queue = client.get("/console/").get_data(as_text=True)
    assert listed(client, "/console/") == [ours.number]
    assert listed(client) == [ours.number]
    assert 'hx-trigger="every 2s"' in client.get("/console/queue/rows").get_data(as_text=True)
    assert listed(client, q=theirs.number) == []
    assert listed(client, q=ours.number) == [ours.number]
    assert listed(client, q="13800001234") == [ours.number]

    mine = client.get(f"/console/incidents/{ours.id}")
    assert mine.status_code == 200 and "东湖路有人打架" in mine.get_data(as_text=True)
    assert "138****1234" in mine.get_data(as_text=True) and "13800001234" not in mine.get_data(as_text=True)
    other = client.get(f"/console/incidents/{theirs.id}")
    missing = client.get("/console/incidents/987654")
    assert other.status_code == missing.status_code == 404
    assert other.get_data(as_text=True) == missing.get_data(as_text=True)
    assert (
        client.post(
            f"/console/incidents/{theirs.id}/status", data={"status": "dispatched", "csrf_token": csrf_of(queue)}
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert db.session.get(Incident, theirs.id).status == "received"


def test_queue_filters_by_status_and_channel(client, world, citizen):
    first = report_at(citizen, "DH-0001")
    second = report_at(citizen, "DH-0002")
    incidents.change_status(incident=second, actor=world.officer(STATION_A), status=IncidentStatus.DISPATCHED)
    log_in(client, STATION_A)
    assert listed(client, status="received") == [first.number]
    assert listed(client, "/console/", status="dispatched") == [second.number]
    assert listed(client, channel="web") == []
    assert listed(client, channel="wechat") == [second.number, first.number]  # newest first


def poll_url(page: str) -> str:
    return re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")


def test_an_idle_queue_poll_answers_204_until_something_the_officer_may_see_changes(client, world, citizen):
    start = clock.now().replace(second=0, microsecond=0)
    clock.freeze(start)
    first = report_at(citizen, "DH-0001")
    log_in(client, STATION_A)
    url = poll_url(client.get("/console/", query_string={"status": "received"}).get_data(as_text=True))
    assert "status=received" in url and "v=" in url
    statements: list[str] = []
    count = lambda _conn, _cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        idle = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert idle.status_code == 204 and idle.data == b""
    assert statements == []  # an idle console never reaches the database

    report_at(citizen, "XH-0001")  # station B's: not in station A's queue, so still nothing to fetch
    incidents.change_status(
        incident=report_at(citizen, "XH-0002"), actor=world.officer(STATION_B), status=IncidentStatus.DISPATCHED
    )
    assert client.get(url).status_code == 204

    second = report_at(citizen, "DH-0002")
    fresh = client.get(url)
    shown = re.findall(r'data-number="(\w+)"', fresh.get_data(as_text=True))
    assert fresh.status_code == 200 and shown == [second.number, first.number]
    url = poll_url(fresh.get_data(as_text=True))
    assert client.get(url).status_code == 204
    incidents.change_status(incident=first, actor=world.officer(STATION_A), status=IncidentStatus.DISPATCHED)
    changed = client.get(url)
    assert changed.status_code == 200 and re.findall(r'data-number="(\w+)"', changed.get_data(as_text=True)) == [
        second.number
    ]
    url = poll_url(changed.get_data(as_text=True))

    # the page ticks the ages itself; an unchanged queue is sent again once a period, at the console's own offset
    period = QUEUE_REFRESH_SECONDS
    offset = int(re.search(r"[?&]o=(\d+)", url).group(1))
    rollover = period - (int(start.timestamp()) + offset) % period
    clock.freeze(start + timedelta(seconds=rollover - 1))
    assert client.get(url).status_code == 204
    clock.freeze(start + timedelta(seconds=rollover))
    assert client.get(url).status_code == 200
    pages = [client.get("/console/").get_data(as_text=True) for _ in range(5)]
    offsets = {re.search(r"[?&]o=(\d+)", poll_url(page)).group(1) for page in pages}
    assert len(offsets) > 1  # open consoles do not all refresh in the same second
    assert 'class="age" data-at="' in pages[0] and "queue.js" in pages[0]

    # the command centre sees a report not yet routed anywhere; the station does not
    centre = client.application.test_client()
    log_in(centre, "100007", address="10.0.0.2")
    centre_url = poll_url(centre.get("/console/").get_data(as_text=True))
    url = poll_url(client.get(url).get_data(as_text=True))
    unrouted = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="不知道在哪")
    assert unrouted.unit_id is None
    assert unrouted.number in centre.get(centre_url).get_data(as_text=True)
    assert client.get(url).status_code == 204

    token = csrf_of(client.get("/console/").get_data(as_text=True))
    client.post("/console/logout", data={"csrf_token": token})
    assert client.get(url).status_code == 302  # no answer at all once signed out, not even "unchanged"


def test_an_idle_poll_is_answered_before_flask_and_anything_else_goes_through_it(app, client, world, citizen):
    report_at(citizen, "DH-0001")
    log_in(client, STATION_A)
    url = poll_url(client.get("/console/").get_data(as_text=True))
    reached: list[str] = []
    note = lambda _sender, **_extra: reached.append("flask")  # noqa: E731
    request_started.connect(note, app)
    try:
        idle = client.get(url)
        assert idle.status_code == 204 and reached == []  # decided by the wrapper alone
        assert "frame-ancestors 'none'" in idle.headers["Content-Security-Policy"]
        assert idle.headers["Cache-Control"] == "no-store"

        stale = re.sub(r"v=[^&]+", "v=0.1", url)
        assert client.get(stale).status_code == 200 and reached == ["flask"]  # an old version: the rows, by Flask
        forged = client.get_cookie("wx110_console", path="/console").value[:-4] + "AAAA"
        stranger = app.test_client()
        stranger.set_cookie("wx110_console", forged, path="/console")
        assert stranger.get(url).status_code == 302 and reached == ["flask"] * 2  # a forged cookie: not logged in
        assert client.post(url).status_code in (400, 405) and len(reached) == 3  # only a GET is answered early
    finally:
        request_started.disconnect(note, app)


def test_the_officer_replies_and_moves_the_incident_along_with_only_legal_steps(client, world, citizen):
    incident = report_at(citizen, "DH-0001")
    log_in(client, STATION_A)
    page = client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    assert re.findall(r'data-status="(\w+)"', page) == ["dispatched"]
    token = csrf_of(page)

    client.post(f"/console/incidents/{incident.id}/reply", data={"body": "民警马上到", "csrf_token": token})
    answer = client.post(
        f"/console/incidents/{incident.id}/status",
        data={"status": "dispatched", "public_note": "已派民警前往", "csrf_token": token},
    )
    assert answer.status_code == 302
    page = client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    assert "民警马上到" in page and "已派民警前往" in page and "已派警" in page
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == "dispatched"
    [message] = db.session.scalars(select(ChatMessage)).all()
    assert (message.sender_kind, message.body) == ("officer", "民警马上到")

    # an illegal step is refused on the page and changes nothing
    illegal = client.post(f"/console/incidents/{incident.id}/status", data={"status": "concluded", "csrf_token": token})
    assert illegal.status_code == 302
    assert "警情状态不能从" in client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == "dispatched"


def test_the_officer_sees_when_a_reply_could_not_reach_the_citizen(app, client, world, background_fake):
    silent = citizens.identify(oa_openid="openid-console-silent")
    background_fake.outside_window.add("openid-console-silent")  # past the 48 hours, and no template configured
    incident = report_at(silent, "DH-0001")
    log_in(client, STATION_A)
    token = csrf_of(client.get(f"/console/incidents/{incident.id}").get_data(as_text=True))
    client.post(f"/console/incidents/{incident.id}/reply", data={"body": "请回电话", "csrf_token": token})
    app.extensions["wx110.dispatcher"].drain()
    page = client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    assert '<span class="delivery undelivered">未能送达:报警人超过48小时未互动' in page


# -- evidence -------------------------------------------------------------------------------------------------


def test_a_file_that_could_not_be_fetched_shows_its_reason(app, client, world, citizen):
    incident = report_at(citizen, "DH-0001")
    incidents.attach_evidence(
        incident=incident,
        actor=citizen,
        kind=AttachmentKind.VIDEO,
        source_ref="wechat:gone-video",
        wechat_media_id="MEDIA_NOBODY_HOLDS",  # the fetch job meets WeChat's 40007 and gives up at once
    )
    app.extensions["wx110.dispatcher"].drain()
    log_in(client, STATION_A)
    page = client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    caption = re.sub(r"<[^>]+>", "", re.search(r'<figcaption class="failed">(.+?)</figcaption>', page).group(1))
    assert caption.startswith("视频 · 下载失败(已尝试1次)") and "40007" in caption


def test_a_video_is_served_with_ranges_and_each_view_is_audited(client, world, citizen):
    incident = report_at(citizen, "DH-0001")
    body = bytes(range(256)) * 400
    stored = storage().save(io.BytesIO(body), suffix=".mp4")
    attachment = incidents.attach_evidence(
        incident=incident,
        actor=citizen,
        kind=AttachmentKind.VIDEO,
        source_ref="upload:test-video",
        storage_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        content_type="video/mp4",
    )
    log_in(client, STATION_A)
    assert f'<video controls preload="metadata" src="/console/attachments/{attachment.id}"' in client.get(
        f"/console/incidents/{incident.id}"
    ).get_data(as_text=True)

    start = client.get(f"/console/attachments/{attachment.id}", headers={"Range": "bytes=0-"})
    assert start.status_code == 206 and start.data == body
    middle = client.get(f"/console/attachments/{attachment.id}", headers={"Range": "bytes=1000-1999"})
    assert middle.status_code == 206 and middle.data == body[1000:2000]
    assert middle.headers["Content-Range"] == f"bytes 1000-1999/{len(body)}"
    [viewed] = actions("attachment.viewed")
    assert (viewed.actor_id, viewed.subject_id) == (world.officer(STATION_A).id, attachment.id)

    station_b = client.application.test_client()
    assert log_in(station_b, STATION_B).status_code == 302
    assert station_b.get(f"/console/attachments/{attachment.id}").status_code == 404
    assert len(actions("attachment.viewed")) == 1


# -- notes, category, assignment, phone-in -------------------------------------------------------------------


def test_notes_recategorisation_and_assignment_from_the_case_page(client, world, citizen):
    incident = report_at(citizen, "DH-0001")
    client.application.extensions["wx110.dispatcher"].drain()  # the report's routing and clock have run
    log_in(client, STATION_A)
    token = csrf_of(client.get(f"/console/incidents/{incident.id}").get_data(as_text=True))
    post = lambda action, **data: client.post(  # noqa: E731
        f"/console/incidents/{incident.id}/{action}", data={"csrf_token": token, **data}
    )

    post("note", note="报警人情绪激动,注意安抚")
    dispute = seed.category("0301")
    post("category", category=str(dispute.id), reason="实为邻里纠纷")
    colleague = world.officer("100003")
    post("assign", officer=str(colleague.id), reason="就近")
    page = client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    assert "报警人情绪激动,注意安抚" in page and "实为邻里纠纷" in page and "黄敏(100003)" in page
    db.session.expire_all()
    stored = db.session.get(Incident, incident.id)
    assert (stored.category_id, stored.assigned_officer_id) == (dispute.id, colleague.id)
    db.session.rollback()  # end the read above: on SQLite a job would wait on it
    client.application.extensions["wx110.dispatcher"].drain()  # follow-ups of these changes write entries too
    trail = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert [action for action in trail if action.startswith("incident.")][-3:] == [
        "incident.noted",
        "incident.recategorised",
        "incident.assigned",
    ]
    # the citizen's progress shows none of it
    from casework import queries

    public = [entry.public_note for entry in queries.public_timeline(stored)]
    assert not any("情绪" in note or "纠纷" in note for note in public)

    # a unit outside the station's scope answers as a missing one and changes nothing
    other_station = db.session.scalar(select(Unit).where(Unit.code == "33010202"))
    post("assign", unit=str(other_station.id))
    assert "未找到该记录" in client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).unit.code == "33010201"


def test_a_dispatcher_types_in_a_phone_report_and_an_officer_may_not(client, world):
    log_in(client, "100001")
    token = csrf_of(client.get("/console/phone-in").get_data(as_text=True))
    station = db.session.scalar(select(Unit).where(Unit.code == "33010201"))
    answer = client.post(
        "/console/phone-in",
        data={
            "csrf_token": token,
            "phone": "139 0000 5678",
            "description": "电话报警:小区门口有车辆剐蹭",
            "address": "东湖路5号",
            "unit": str(station.id),
        },
    )
    assert answer.status_code == 302
    incident = db.session.scalar(select(Incident).where(Incident.channel == "console"))
    assert (incident.citizen.phone, incident.unit_id, incident.address) == ("13900005678", station.id, "东湖路5号")
    assert incident.number in listed(client)

    bad = client.post("/console/phone-in", data={"csrf_token": token, "phone": "123", "description": "x"})
    assert bad.status_code == 400 and "请填写正确的11位手机号码" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 1

    officer_client = client.application.test_client()
    log_in(officer_client, STATION_A)
    assert officer_client.get("/console/phone-in").status_code == 403


# -- the WeChat simulator -------------------------------------------------------------------------------------


def simulate(client, kind: str, value: str = "", openid: str = "o-sim-test") -> str:
    """Sign one message in the simulator and post it to /wechat as the page does; the callback's answer."""
    page = client.get(f"/console/simulator/?openid={openid}").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    signed = client.post(
        "/console/simulator/sign",
        data={"openid": openid, "kind": kind, "value": value},
        headers={"X-CSRFToken": token},
    )
    assert signed.status_code == 200, signed.get_data(as_text=True)
    answer = client.post(signed.json["url"], data=signed.json["body"], content_type="text/xml")
    assert answer.status_code == 200
    assert "<Encrypt>" in answer.get_data(as_text=True)  # the app has an AES key: sent and answered in safe mode
    opened = client.post(
        "/console/simulator/open", data=answer.get_data(), content_type="text/xml", headers={"X-CSRFToken": token}
    )
    return opened.json["text"]


def test_the_simulator_sends_text_location_a_doorplate_scan_and_a_video(make_app, fake, world):
    from tests.wechat_side import wechat_config

    app = make_app(**wechat_config(fake), CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    client = app.test_client()
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
    assert "警情编号" in simulate(client, "text", "有人在楼道里吵架")
    assert "示范市东湖区东湖路1号" in simulate(client, "scan", "DH-0001", openid="o-sim-scan")
    assert simulate(client, "location", "30.2741,120.1551")  # answered (the bot asks or records the place)
    assert "警情编号" in simulate(client, "video", openid="o-sim-video")
    [held] = [media_id for media_id in fake.media if media_id.startswith("SIM_VIDEO_")]
    content_type, payload = fake.media[held]
    assert content_type == "video/mp4" and payload[4:8] == b"ftyp"

    pushed = client.get("/console/simulator/pushes?openid=o-sim-test").get_data(as_text=True)
    assert 'class="pushes"' in pushed
    db.session.rollback()
    app.extensions["wx110.dispatcher"].drain()  # the video's download runs against the fake, still up here


def test_the_simulator_is_absent_unless_wechat_is_the_loopback_fake_and_its_form_needs_csrf(make_app, client, world):
    real = make_app(WECHAT_API_BASE="https://api.weixin.qq.com").test_client()
    assert real.get("/console/simulator/").status_code == 404
    assert real.post("/console/simulator/sign", data={"openid": "o", "kind": "text", "value": "x"}).status_code == 404
    assert client.get("/console/simulator/").status_code == 200
    refused = client.post("/console/simulator/sign", data={"openid": "o", "kind": "text", "value": "x"})
    assert refused.status_code == 400


# -- guidance, intelligence, personal data --------------------------------------------------------------------


def test_guidance_and_intelligence_beside_the_case_stay_within_the_unit(client, world, citizen):
    fight = seed.category("0101") or db.session.scalar(select(Category).where(Category.parent_id.is_not(None)))
    fight.guide, fight.equipment, fight.legal_refs = (
        "先控制现场,分开双方",
        ["执法记录仪", "警棍"],
        ["《治安管理处罚法》"],
    )
    db.session.commit()
    earlier_here = report_at(citizen, "DH-0001", "上周这里也打过架")
    elsewhere = report_at(citizen, "XH-0001", "西湖路也有人闹事")  # station B's: never shown to station A
    other_reporter = report_at(citizens.identify(oa_openid="o-neighbour"), "DH-0001", "邻居报警")
    plate = db.session.scalar(select(Doorplate).where(Doorplate.code == "DH-0001"))
    current = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="又打起来了", doorplate=plate, category=fight
    )
    log_in(client, STATION_A)
    page = client.get(f"/console/incidents/{current.id}").get_data(as_text=True)
    assert "先控制现场,分开双方" in page and "执法记录仪" in page and "《治安管理处罚法》" in page
    panel = page[page.index('id="intelligence"') :]
    shown = re.findall(r'data-number="(\w+)"', panel)
    assert set(shown) == {earlier_here.number, other_reporter.number}
    assert elsewhere.number not in page
    assert re.search(r'id="doorplate-count">2<', page) and re.search(r'id="citizen-count">1<', page)


def test_personal_data_is_masked_and_revealed_with_a_reason_in_the_audit(client, world, citizen):
    citizen.phone, citizen.real_name, citizen.id_number = "13800001234", "张三丰", "330102199001011234"
    incident = report_at(citizen, "DH-0001")
    log_in(client, STATION_A)
    page = client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    assert "138****1234" in page and "张**" in page and "3301**********1234" in page
    assert "13800001234" not in page and "张三丰" not in page and "330102199001011234" not in page
    token = csrf_of(page)

    refused = client.post(f"/console/incidents/{incident.id}/reveal", data={"csrf_token": token, "reason": " "})
    assert refused.status_code == 302 and actions("citizen.revealed") == []

    shown = client.post(f"/console/incidents/{incident.id}/reveal", data={"csrf_token": token, "reason": "回拨核实"})
    html = shown.get_data(as_text=True)
    assert "13800001234" in html and "张三丰" in html and "330102199001011234" in html
    [entry] = actions("citizen.revealed")
    assert (entry.actor_id, entry.subject_type, entry.subject_id) == (
        world.officer(STATION_A).id,
        "citizen",
        citizen.id,
    )
    assert "回拨核实" in entry.detail
    # the next view is masked again
    assert "13800001234" not in client.get(f"/console/incidents/{incident.id}").get_data(as_text=True)

    station_b = client.application.test_client()
    log_in(station_b, STATION_B)
    other = station_b.post(
        f"/console/incidents/{incident.id}/reveal",
        data={"csrf_token": csrf_of(station_b.get("/console/").get_data(as_text=True)), "reason": "好奇"},
    )
    assert other.status_code == 404 and len(actions("citizen.revealed")) == 1


# -- admin ----------------------------------------------------------------------------------------------------


def test_only_an_admin_opens_the_admin_pages_and_manages_officers(client, world):
    for badge in ("100001", STATION_A, "100005"):  # dispatcher, officer, supervisor
        other = client.application.test_client()
        log_in(other, badge)
        assert other.get("/console/admin/officers").status_code == 403
        token = csrf_of(other.get("/console/").get_data(as_text=True))
        refused = other.post(
            "/console/admin/officers",
            data={"csrf_token": token, "badge_no": "200001", "name": "冒名", "unit": "1", "roles": "admin"},
        )
        assert refused.status_code == 403
    assert db.session.scalar(select(Officer).where(Officer.badge_no == "200001")) is None

    log_in(client, "100000")
    page = client.get("/console/admin/officers")
    assert page.status_code == 200 and "林晓" in page.get_data(as_text=True)
    token = csrf_of(page.get_data(as_text=True))
    station = db.session.scalar(select(Unit).where(Unit.code == "33010201"))
    client.post(
        "/console/admin/officers",
        data={
            "csrf_token": token,
            "badge_no": "200001",
            "name": "新警员",
            "unit": str(station.id),
            "roles": ["officer", "dispatcher"],
            "password": "a-long-password-1",
        },
    )
    created = db.session.scalar(select(Officer).where(Officer.badge_no == "200001"))
    assert created.roles == ["dispatcher", "officer"] and created.password_hash.startswith("$argon2id$")
    fresh = client.application.test_client()
    assert log_in(fresh, "200001", "a-long-password-1").status_code == 302

    client.post(f"/console/admin/officers/{created.id}/password", data={"csrf_token": token, "password": "short"})
    assert "密码至少10位" in client.get("/console/admin/officers").get_data(as_text=True)
    client.post(
        f"/console/admin/officers/{created.id}/password",
        data={"csrf_token": token, "password": "another-long-password"},
    )
    assert fresh.get("/console/").status_code == 302  # the reset ended the old session
    client.post(f"/console/admin/officers/{created.id}/roles", data={"csrf_token": token, "roles": ["officer"]})
    client.post(f"/console/admin/officers/{created.id}/deactivate", data={"csrf_token": token})
    db.session.expire_all()
    created = db.session.get(Officer, created.id)
    assert (created.roles, created.active) == (["officer"], False)
    assert log_in(fresh, "200001", "another-long-password").status_code == 401
    assert [
        e.action
        for e in db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.subject_id == created.id,
                AuditEntry.subject_type == "officer",
                AuditEntry.actor_kind == "officer",
            )
            .order_by(AuditEntry.seq)
        )
    ] == [
        "officer.created",
        "officer.logged_in",
        "officer.password_reset",
        "officer.roles_changed",
        "officer.deactivated",
    ]


# -- the complaint inbox --------------------------------------------------------------------------------------


def test_the_handling_unit_explains_a_complaint_and_another_station_cannot_see_it(client, world, citizen):
    from casework import complaints
    from casework.complaint_status import ComplaintStatus
    from tests.complaint_steps import walk

    ours = complaints.file(citizen=citizen, incident=report_at(citizen, "DH-0001"), body="出警太慢")
    theirs = complaints.file(citizen=citizen, incident=report_at(citizen, "XH-0001"), body="态度不好")
    for complaint in (ours, theirs):  # routed, accepted, and the unit's explanation asked for
        walk(complaint, ComplaintStatus.INVESTIGATING, supervisor=world.officer("100005"), explainer=None)
    log_in(client, STATION_A)
    page = client.get("/console/complaints").get_data(as_text=True)
    assert ours.number in page and theirs.number not in page and "出警太慢" in page
    token = csrf_of(page)

    client.post(f"/console/complaints/{ours.id}/explanation", data={"csrf_token": token, "explanation": "当晚警力不足"})
    assert (
        client.post(
            f"/console/complaints/{theirs.id}/explanation", data={"csrf_token": token, "explanation": "越权说明"}
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert db.session.get(Complaint, ours.id).unit_explanation == "当晚警力不足"
    assert db.session.get(Complaint, theirs.id).unit_explanation is None
    [entry] = actions("complaint.explained")
    assert (entry.actor_id, entry.subject_id) == (world.officer(STATION_A).id, ours.id)
    published = db.session.scalars(select(OutboxMessage.payload)).all()
    assert any(f'"complaint_id": {ours.id}' in payload for payload in published) or published == []

    client.post(f"/console/complaints/{ours.id}/explanation", data={"csrf_token": token, "explanation": "再说明一次"})
    assert "该投诉已有单位情况说明" in client.get("/console/complaints").get_data(as_text=True)

    supervision = client.application.test_client()
    log_in(supervision, "100005")  # the city's supervisor reads the complaint with the unit's explanation
    shown = supervision.get("/console/complaints").get_data(as_text=True)
    assert ours.number in shown and "当晚警力不足" in shown
