"""A plan of online evaluation end to end in headless Chromium against a running server: the admin imports a
standard (a file with one bad line refused whole, the line named), the city's legal officer makes a plan and
draws it, legal officers of other counties score the cases online, the station appeals two findings, the organiser
upholds one and rejects the other, the window closes (the sweep with `now`), the confirmed findings become
rectifications, one rectified and accepted, the other red once overdue; the results, their CSV and the unit's
printable report."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework import citizens, clock, seed
from casework.db import db
from supervision import sweep
from supervision.evaluation_models import EvaluationPlan
from tests.evaluation_steps import STANDARD_CSV, accept_case, add_officers
from tests.live_server import serving


@pytest.fixture
def live(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        add_officers()
        citizen = citizens.identify(oa_openid="openid-evaluation-browser")
        start = clock.local(clock.now()) - timedelta(days=3)
        accept_case(app, citizen, seed.officer("100002"), "DH-0001", start)
        accept_case(app, citizen, seed.officer("100010"), "JB-0001", start + timedelta(hours=1))
        db.session.remove()
        with serving(app) as base_url:
            yield app, base_url, start.date()
        db.session.remove()


def log_in(browser, base_url, badge):
    page = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
    page.goto(f"{base_url}/console/login")
    page.fill("#badge_no", badge)
    page.fill("#password", seed.DEMO_PASSWORD)
    page.click("#login")
    page.wait_for_selector("main")
    return page


def upload(page, name, text):
    page.fill('#import-standard input[name="name"]', "执法质量考评标准")
    page.set_input_files(
        '#import-standard input[name="file"]', {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.click('#import-standard button[type="submit"]')
    page.wait_for_selector("#standards")


def score(page, base_url, findings):
    page.goto(f"{base_url}/console/evaluation/tasks")
    page.click(".task-link")
    page.wait_for_selector("#task-title")
    assert "被骗了" in page.inner_text("#case-facts") and page.locator("#timeline-rows tbody tr").count() >= 4
    for code, evidence in findings:
        page.select_option(
            '#finding-form select[name="criterion_id"]',
            label=next(
                line for line in page.locator("#finding-form option").all_inner_texts() if line.startswith(code)
            ),
        )
        page.fill('#finding-form input[name="evidence"]', evidence)
        page.click('#finding-form button[type="submit"]')
        page.wait_for_selector(f"#task-findings >> text={evidence}")
    page.click('#submit-form button[type="submit"]')
    page.wait_for_selector("#tasks")


def test_a_plan_end_to_end_in_the_browser(browser, live):
    app, base_url, day = live
    admin = log_in(browser, base_url, "100000")
    admin.goto(f"{base_url}/console/evaluation/standards")
    upload(admin, "bad.csv", STANDARD_CSV.replace("较重", "很重"))
    assert "第3行" in admin.inner_text("main") and "未导入任何数据" in admin.inner_text("main")
    assert "暂无考评标准" in admin.inner_text("#standards")
    upload(admin, "standard.csv", STANDARD_CSV)
    assert "第1版" in admin.inner_text("#standards")

    organiser = log_in(browser, base_url, "100009")
    organiser.goto(f"{base_url}/console/evaluation/plans")
    form = "#new-plan"
    organiser.fill(f'{form} input[name="name"]', "本月执法质量考评")
    organiser.fill(f'{form} input[name="period_start"]', (day - timedelta(days=1)).isoformat())
    organiser.fill(f'{form} input[name="period_end"]', (day + timedelta(days=1)).isoformat())
    organiser.check(f"{form} label:has-text('东湖派出所') input")
    organiser.check(f"{form} label:has-text('江滨派出所') input")
    organiser.fill(f'{form} input[name="sample_count"]', "1")
    for field, days in (("scoring_due", 10), ("appeal_due", 15), ("review_due", 20)):
        organiser.fill(f'{form} input[name="{field}"]', (day + timedelta(days=days)).isoformat())
    organiser.fill(f'{form} input[name="rectify_days"]', "30")
    organiser.fill(f'{form} input[name="seed"]', "browser-seed")
    organiser.click(f'{form} button[type="submit"]')
    organiser.wait_for_selector("#plan-title")
    organiser.click("#draw")
    organiser.wait_for_selector("#plan-tasks")
    tasks = organiser.inner_text("#plan-tasks")
    assert "东湖派出所\t江法" in tasks and "江滨派出所\t吴法" in tasks  # each scored by the other county

    score(log_in(browser, base_url, "100008"), base_url, [("SA-02", "询问笔录未见权利告知"), ("SA-03", "手机未入库")])
    score(log_in(browser, base_url, "100004"), base_url, [("SA-01", "受案登记表缺联系方式")])

    station = log_in(browser, base_url, "100002")
    station.goto(f"{base_url}/console/evaluation/findings")
    assert "受案登记表缺联系方式" not in station.inner_text("#findings")  # 江滨's finding is not 东湖's business
    for evidence, reason in (("询问笔录未见权利告知", "笔录第3页已告知"), ("手机未入库", "已入库,见入库单")):
        row = station.locator("#findings tr", has_text=evidence)
        row.locator('input[name="reason"]').fill(reason)
        row.locator('button[type="submit"]').click()
        station.wait_for_selector(f"#findings tr:has-text('{evidence}') >> text=申诉中")

    organiser.reload()
    for evidence, decision in (("询问笔录未见权利告知", "upheld"), ("手机未入库", "rejected")):
        row = organiser.locator("#appeals tr", has_text=evidence)
        row.locator('input[name="reason"]').fill("经复核")
        row.locator(f'button[value="{decision}"]').click()
        organiser.wait_for_selector("#plan-title")
    with app.app_context():
        plan = db.session.scalar(select(EvaluationPlan))
        appeal_due, rectify_days = plan.appeal_due_at, plan.rectify_days
        sweep.sweep(now=appeal_due + timedelta(minutes=1))  # the window closes: the unappealed finding confirmed
        db.session.remove()

    station.goto(f"{base_url}/console/evaluation/rectifications")
    row = station.locator("#rectification-rows tr", has_text="手机未入库")
    assert row.locator(".colour").get_attribute("data-colour") == "yellow"
    row.locator('input[name="text"]').fill("手机已入库并补登记")
    row.locator('button[type="submit"]').click()
    station.wait_for_selector("#rectification-rows >> text=已报整改待验收")

    organiser.goto(f"{base_url}/console/evaluation/rectifications")
    organiser.locator("#rectification-rows tr", has_text="手机未入库").locator('button[value="accept"]').click()
    organiser.wait_for_selector("#rectification-rows >> text=已整改验收")
    with app.app_context():
        sweep.sweep(now=appeal_due + timedelta(days=rectify_days, hours=1))
        db.session.remove()
    organiser.reload()
    colours = {
        text: organiser.locator("#rectification-rows tr", has_text=text).locator(".colour").get_attribute("data-colour")
        for text in ("手机未入库", "受案登记表缺联系方式")
    }
    assert colours == {"手机未入库": "none", "受案登记表缺联系方式": "red"}
    accepted = organiser.locator("#rectification-rows tr", has_text="手机未入库").locator(".colour").inner_text()
    assert accepted == "已验收"  # not 已解除: what ended it is the acceptance

    organiser.goto(f"{base_url}/console/evaluation/plans")
    organiser.click("text=本月执法质量考评")
    results = organiser.inner_text("#unit-results")
    assert "东湖派出所" in results and "江滨派出所" in results
    with organiser.expect_download() as download:
        organiser.click("#results-csv")
    body = open(download.value.path(), "rb").read()
    assert body.startswith(b"\xef\xbb\xbf") and "手机未入库" in body.decode("utf-8-sig")
    assert "询问笔录未见权利告知" in body.decode("utf-8-sig")  # withdrawn, listed as such
    organiser.locator("#unit-results tr", has_text="东湖派出所").locator("text=打印报告").click()
    organiser.wait_for_selector("#report-title")
    assert "平均得分 85.0" in organiser.inner_text("#report-standing")  # 100 - 15 (the upheld 10 withdrawn)

    # The trend: a chart per unit drawn by the server, shown on screen and kept when printed.
    organiser.goto(f"{base_url}/console/evaluation/trend")
    chart = organiser.locator('.trend-chart[data-unit="东湖派出所"] svg')
    assert chart.bounding_box()["width"] > 200 and chart.locator("circle").count() == 1
    organiser.emulate_media(media="print")
    assert chart.is_visible() and chart.bounding_box()["height"] > 50
    assert "85.0" in organiser.inner_text("#trend-table")
