"""New evaluation tasks reach their evaluators beyond the console inbox: a WeChat template message to an officer
whose WeChat is bound (an admin binds it on the officer page, audited), once per assignment, and to the new
evaluator when a task is reassigned. There is no text-message channel for tasks."""

import json
import uuid

import pytest
from sqlalchemy import select

from casework import audit, citizens, officers, seed
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.models import Officer, Role, Unit
from supervision import evaluation, evaluation_assignment, evaluation_notify, evaluation_standards
from supervision.evaluation_models import EvaluationTask
from tests.evaluation_steps import STANDARD_CSV, add_officers, bj, cases_at_two_stations
from tests.integration.test_console import Browser, csrf_of, log_in
from tests.integration.test_evaluation import make_plan

TEMPLATE = "/cgi-bin/message/template/send"


def drain(app):
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()
    db.session.expire_all()


@pytest.fixture
def pushing_app(make_app, fake_wechat):
    app = make_app(
        WECHAT_API_BASE=fake_wechat.base_url,
        WECHAT_APPID=f"wx-{uuid.uuid4().hex[:8]}",
        WECHAT_SECRET="s",
        EVALUATION_TASK_TEMPLATE_ID="tmpl-evaluation-task",
        CONSOLE_SECURE_COOKIES=False,
    )
    app.test_client_class = Browser
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        add_officers()
        yield app
        db.session.remove()


def sent_to(fake_wechat, openid: str) -> list:
    return [c for c in fake_wechat.sent(TEMPLATE) if c.body["touser"] == openid]


def test_a_new_task_is_pushed_once_to_a_bound_evaluator_and_a_reassigned_one_to_its_new_evaluator(
    pushing_app, fake_wechat
):
    app, admin = pushing_app, seed.officer("100000")
    officers.bind_wechat(actor=admin, officer=seed.officer("100008"), openid="oa-legal-100008")
    county = db.session.scalar(select(Unit).where(Unit.code == "330103"))
    spare = Officer(badge_no="100011", name="许法", unit=county, roles=[Role.LEGAL_OFFICER.value])
    db.session.add(spare)
    db.session.commit()
    citizen = citizens.identify(oa_openid="openid-notify")
    cases_at_two_stations(app, citizen, per_station=1)
    standard = evaluation_standards.import_file(STANDARD_CSV.encode(), actor=admin, name="标准", filename="s.csv")
    people = {"organiser": seed.officer("100009"), "east_officer": seed.officer("100002")}
    people["river_officer"] = seed.officer("100010")
    plan = make_plan(people, standard)
    tasks = evaluation.draw(actor=people["organiser"], plan_id=plan.id, now=bj(2025, 12, 1, 10))
    officers.bind_wechat(actor=admin, officer=spare, openid="oa-legal-100011")  # bound after the draw
    drain(app)

    [east] = [t for t in tasks if t.evaluator.badge_no == "100008"]
    [push] = sent_to(fake_wechat, "oa-legal-100008")
    assert push.body["template_id"] == "tmpl-evaluation-task"
    assert push.body["data"] == {
        "plan": {"value": "2025年11月执法质量考评"},
        "number": {"value": east.case.number},
        "due": {"value": "2025-12-10 00:00"},
    }
    assert push.body["url"].endswith(f"/console/evaluation/tasks/{east.id}")
    assert db.session.get(EvaluationTask, east.id).notified_at is not None
    river = next(t for t in tasks if t.id != east.id)
    assert db.session.get(EvaluationTask, river.id).notified_at is None  # 100004 has no WeChat bound: inbox only

    evaluation_notify.task_assigned(task_id=east.id, evaluator_id=east.evaluator_id)  # the job run again
    assert len(sent_to(fake_wechat, "oa-legal-100008")) == 1

    evaluation_assignment.reassign(
        actor=people["organiser"], task_id=east.id, evaluator_id=spare.id, reason="改派", now=bj(2025, 12, 2)
    )
    drain(app)
    assert len(sent_to(fake_wechat, "oa-legal-100011")) == 1
    assert len(sent_to(fake_wechat, "oa-legal-100008")) == 1  # the first evaluator is not told again
    evaluation_notify.task_assigned(task_id=east.id, evaluator_id=seed.officer("100008").id)  # a stale job
    assert len(sent_to(fake_wechat, "oa-legal-100008")) == 1


def test_no_template_means_the_console_inbox_only(make_app, fake_wechat):
    app = make_app(WECHAT_API_BASE=fake_wechat.base_url, WECHAT_APPID=f"wx-{uuid.uuid4().hex[:8]}", WECHAT_SECRET="s")
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        add_officers()
        admin = seed.officer("100000")
        officers.bind_wechat(actor=admin, officer=seed.officer("100008"), openid="oa-legal-100008")
        cases_at_two_stations(app, citizens.identify(oa_openid="openid-quiet"), per_station=1)
        standard = evaluation_standards.import_file(STANDARD_CSV.encode(), actor=admin, name="标准", filename="s.csv")
        people = {o: seed.officer(b) for o, b in (("organiser", "100009"), ("east_officer", "100002"))}
        people["river_officer"] = seed.officer("100010")
        plan = make_plan(people, standard)
        evaluation.draw(actor=people["organiser"], plan_id=plan.id, now=bj(2025, 12, 1, 10))
        drain(app)
        assert sent_to(fake_wechat, "oa-legal-100008") == []
        assert evaluation.open_task_count(seed.officer("100008")) == 1  # the inbox still has it
        db.session.remove()


def test_an_admin_binds_an_officers_wechat_on_the_officer_page_audited_and_checked(pushing_app):
    app, admin = pushing_app, seed.officer("100000")
    target = seed.officer("100008")
    with pytest.raises(InvalidInput):
        officers.bind_wechat(actor=admin, officer=target, openid="bad openid!")
    officers.bind_wechat(actor=admin, officer=seed.officer("100004"), openid="oa-taken-0001")
    with pytest.raises(Conflict):
        officers.bind_wechat(actor=admin, officer=target, openid="oa-taken-0001")
    db.session.expire_all()
    assert seed.officer("100008").wechat_openid is None  # refused: nothing changed

    client = app.test_client()
    log_in(client, "100000")
    page = client.get("/console/admin/officers").get_data(as_text=True)
    answer = client.post(
        f"/console/admin/officers/{target.id}/wechat",
        data={"openid": "oa-legal-100008", "csrf_token": csrf_of(page)},
        follow_redirects=True,
    )
    assert "已绑定微信" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert seed.officer("100008").wechat_openid == "oa-legal-100008"
    bound = [a for a in audit.trail(seed.officer("100008")) if a.action == "officer.wechat_bound"]
    assert len(bound) == 1 and json.loads(bound[0].detail)["openid_tail"] == "0008"
    officers.bind_wechat(actor=admin, officer=seed.officer("100008"), openid="")
    assert seed.officer("100008").wechat_openid is None
    assert audit.trail(seed.officer("100008"))[-1].action == "officer.wechat_unbound"
    station = app.test_client()
    log_in(station, "100002")
    assert station.post(f"/console/admin/officers/{target.id}/wechat", data={"openid": "x"}).status_code in (400, 403)
