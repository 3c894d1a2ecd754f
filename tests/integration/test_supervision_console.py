"""The supervision pages of the console through HTTP (Flask's test client, the real database): the board scoped
to the viewer, its CSV export that Excel opens (UTF-8 with a BOM), a warning's page with its drill-down and the
rectification form, the notices badge, the live queue's warning colour and filter, and the admin's points page."""

from datetime import datetime

import pytest
from sqlalchemy import select

from casework import citizens, incidents, seed
from casework.clock import CHINA
from casework.db import db
from casework.models import AuditEntry
from casework.status import Channel
from supervision import sweep
from supervision.models import MonitoringPoint, Warning
from tests.integration.test_console import Browser, csrf_of, log_in


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


@pytest.fixture
def warned(app, world):
    """Two incidents left undispatched, one at each of two stations, swept into yellow and red."""
    citizen = citizens.identify(oa_openid="openid-board")
    made = []
    for code in ("DH-0001", "JB-0001"):
        made.append(
            incidents.report(
                citizen=citizen,
                channel=Channel.WECHAT,
                description="有人打架",
                doorplate=seed.doorplate(code),
                now=datetime.now(CHINA).replace(microsecond=0),
            ).number
        )
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()
    sweep.sweep(now=datetime.now(CHINA).replace(second=0, microsecond=0).replace(year=datetime.now().year + 1))
    return made


def test_the_board_counts_only_the_viewers_scope_and_exports_csv_for_excel(app, warned):
    client = app.test_client()
    log_in(client, "100004")  # the 东湖 county's legal officer: sees 东湖派出所's warnings, not 江滨's
    page = client.get("/console/supervision/board").get_data(as_text=True)
    assert 'data-colour="red"' in page and "东湖派出所" in page and "江滨派出所" not in page
    assert "警情超时未派警" in page and 'id="trend-chart"' in page and "chart.umd.min.js" in page
    exported = client.get("/console/supervision/board.csv")
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    body = exported.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("预警编号,颜色,监测点") and len(lines) == 1 + 2  # yellow and red of one incident
    assert all(warned[0] in line for line in lines[1:]) and not any(warned[1] in line for line in lines)
    officer_client = app.test_client()
    log_in(officer_client, "100002")
    assert officer_client.get("/console/supervision/board").status_code == 403  # the board is for supervision


def test_a_warning_page_drills_down_and_takes_a_rectification(app, warned):
    client = app.test_client()
    log_in(client, "100002")
    queue = client.get("/console/").get_data(as_text=True)
    assert 'id="warning-badge"' in queue  # notices unread
    red = db.session.scalar(select(Warning).where(Warning.colour == "red", Warning.subject_number == warned[0]))
    page = client.get(f"/console/supervision/warnings/{red.id}").get_data(as_text=True)
    assert "红色预警" in page and 'id="drill-incident"' in page and f"/console/incidents/{red.incident_id}" in page
    response = client.post(
        f"/console/supervision/warnings/{red.id}/rectification",
        data={"rectification": "已派警处置", "csrf_token": csrf_of(page)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Warning, red.id).rectification == "已派警处置"
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "warning.rectified"))
    listing = client.get("/console/supervision/warnings").get_data(as_text=True)
    assert warned[0] in listing and warned[1] not in listing  # 江滨's warnings are out of scope
    assert 'id="warning-badge"' not in client.get("/console/").get_data(as_text=True)  # read once listed
    other = db.session.scalar(select(Warning).where(Warning.subject_number == warned[1]))
    assert client.get(f"/console/supervision/warnings/{other.id}").status_code == 404


def test_the_live_queue_shows_and_filters_by_warning_colour(app, warned):
    client = app.test_client()
    log_in(client, "100007")  # the province sees both
    rows = client.get("/console/queue/rows?warning=red").get_data(as_text=True)
    assert warned[0] in rows and warned[1] in rows and 'data-warning="red"' in rows
    citizen = citizens.identify(oa_openid="openid-quiet")
    quiet = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="求助", doorplate=seed.doorplate("XH-0001")
    )
    db.session.commit()
    assert quiet.number in client.get("/console/queue/rows").get_data(as_text=True)
    assert quiet.number not in client.get("/console/queue/rows?warning=any").get_data(as_text=True)
    assert client.get("/console/queue/rows?warning=blue").get_data(as_text=True).count("data-number=") == 0


def test_an_admin_turns_a_point_off_and_changes_its_parameters(app, world):
    client = app.test_client()
    log_in(client, "100000")
    page = client.get("/console/supervision/points").get_data(as_text=True)
    assert "受案立案超期" in page and "反复修改案由" in page
    response = client.post(
        "/console/supervision/points/CHAT_UNANSWERED",
        data={"p_minutes": "15", "p_rectify_minutes": "45", "csrf_token": csrf_of(page)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    point = db.session.scalar(select(MonitoringPoint).where(MonitoringPoint.code == "CHAT_UNANSWERED"))
    assert point.parameters["minutes"] == 15 and not point.enabled
    refused = client.post(
        "/console/supervision/points/CHAT_UNANSWERED",
        data={"p_minutes": "-3", "enabled": "on", "csrf_token": csrf_of(page)},
        follow_redirects=True,
    )
    assert "须为1到10000之间的整数" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(MonitoringPoint, point.id).enabled  # refused as a whole
    officer_client = app.test_client()
    log_in(officer_client, "100002")
    assert officer_client.get("/console/supervision/points").status_code == 403
