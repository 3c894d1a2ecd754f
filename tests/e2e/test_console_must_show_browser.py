"""The console's other Must-shows in headless Chromium against a served app: a video plays and seeks in the case
page through range requests (206) and the view is audited; a station cannot open another station's case by its
link; a dispatcher cannot open the admin pages."""

import io

import pytest
from sqlalchemy import select

from casework import citizens, incidents, seed
from casework.db import db
from casework.models import AttachmentKind, AuditEntry
from casework.status import Channel
from media.storage import storage
from tests.live_server import serving
from tests.miniapp_support import make_mp4


@pytest.fixture
def served(make_app, tmp_path):
    app = make_app(MEDIA_ROOT=str(tmp_path / "media"))
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        citizen = citizens.identify(oa_openid="o-must-show")
        ours = incidents.report(
            citizen=citizen, channel=Channel.WECHAT, description="有人砸车", doorplate=seed.doorplate("DH-0001")
        )
        theirs = incidents.report(
            citizen=citizen, channel=Channel.WECHAT, description="西湖路吵架", doorplate=seed.doorplate("XH-0001")
        )
        video = make_mp4(tmp_path / "evidence.mp4", seconds=6, size=(320, 240), noise=True)  # ~14 MB: streamed
        stored = storage().save(io.BytesIO(video.read_bytes()), suffix=".mp4")
        attachment = incidents.attach_evidence(
            incident=ours,
            actor=citizen,
            kind=AttachmentKind.VIDEO,
            source_ref="upload:must-show",
            storage_key=stored.key,
            sha256=stored.sha256,
            size=stored.size,
            content_type="video/mp4",
        )
        ids = {"ours": ours.id, "theirs": theirs.id, "attachment": attachment.id}
        db.session.commit()
        db.session.remove()  # no transaction of the test's stays open while the server writes (SQLite)
        dispatcher = app.extensions.get("wx110.dispatcher")
        if hasattr(dispatcher, "drain"):
            dispatcher.drain()  # the reports' jobs are done before the browser signs in
        with serving(app) as base_url:
            yield base_url, ids
        db.session.remove()


def signed_in(browser, base_url: str, badge: str):
    # bypass_csp: the test itself seeks the player through script; the page's own policy forbids that
    page = browser.new_context(locale="zh-CN", bypass_csp=True).new_page()
    page.goto(f"{base_url}/console/login")
    page.fill("#badge_no", badge)
    page.fill("#password", seed.DEMO_PASSWORD)
    page.click("#login")
    page.wait_for_selector("table.queue")
    return page


def views_of(attachment_id: int) -> list[AuditEntry]:
    try:
        return list(
            db.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "attachment.viewed", AuditEntry.subject_id == attachment_id
                )
            )
        )
    finally:
        db.session.remove()


def test_a_video_plays_and_seeks_with_range_requests_and_the_view_is_audited(browser, served):
    base_url, ids = served
    page = signed_in(browser, base_url, "100002")  # 东湖派出所
    answers = []
    page.on(
        "response",
        lambda r: answers.append((r.status, r.request.headers.get("range"))) if "/attachments/" in r.url else None,
    )
    page.goto(f"{base_url}/console/incidents/{ids['ours']}")
    page.wait_for_function("document.querySelector('video').readyState >= 1")  # metadata read
    assert page.evaluate("document.querySelector('video').duration") == pytest.approx(6, abs=0.5)
    page.evaluate("document.querySelector('video').muted = true; document.querySelector('video').play()")
    page.wait_for_function("document.querySelector('video').currentTime > 0.3")
    page.evaluate("document.querySelector('video').currentTime = 4.5")
    page.wait_for_function(
        "(() => { const v = document.querySelector('video'); return !v.seeking && v.currentTime >= 4.4; })()"
    )
    assert answers and all(status == 206 for status, _ in answers), answers
    assert any(header and not header.startswith("bytes=0-") for _, header in answers), answers  # a seek's range
    [view] = views_of(ids["attachment"])
    assert view.actor_kind == "officer"


def test_another_station_s_case_link_is_missing_and_a_dispatcher_has_no_admin_pages(browser, served):
    base_url, ids = served
    station_b = signed_in(browser, base_url, "100006")  # 西湖路派出所
    assert station_b.goto(f"{base_url}/console/incidents/{ids['theirs']}").status == 200
    refused = station_b.goto(f"{base_url}/console/incidents/{ids['ours']}")
    missing = station_b.goto(f"{base_url}/console/incidents/987654")
    assert refused.status == missing.status == 404
    assert station_b.goto(f"{base_url}/console/attachments/{ids['attachment']}").status == 404
    assert views_of(ids["attachment"]) == []

    dispatcher = signed_in(browser, base_url, "100001")
    assert dispatcher.locator("#admin").count() == 0
    for path in ("/console/admin/units", "/console/admin/officers", "/console/admin/doorplates/"):
        assert dispatcher.goto(f"{base_url}{path}").status == 403


def test_the_queue_ticks_its_ages_in_the_page(browser, served):
    base_url, _ids = served
    page = signed_in(browser, base_url, "100002")
    cell = page.locator("#queue-rows td.age").first
    assert cell.inner_text() == "不到1分钟"
    page.evaluate("document.querySelector('#queue-rows td.age').dataset.at -= 7300")  # as if reported 2 h ago
    page.wait_for_function("document.querySelector('#queue-rows td.age').textContent === '2小时'", timeout=15_000)
