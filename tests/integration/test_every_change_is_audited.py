"""Every change is audited, in the same transaction: each use case writes exactly its expected audit entries
(actor, action, subject), and when the audit write fails the whole change is rolled back.

Use cases run through the service functions the channels call, or over HTTP / the operator CLI where the channel
owns the use case (login, consent, upload, doorplates). Jobs are queued on Redis and not run, so each use case's
own entries are the only new ones. Add a case here with every new use case.
"""

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from casework import (
    case_materials,
    case_property,
    cases,
    categories,
    causes,
    chat,
    citizens,
    clock,
    complaint_inbox,
    complaints,
    dispatch,
    incidents,
    measures,
    officers,
    routing,
    seed,
    viewing,
)
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.models import (
    AttachmentKind,
    AuditEntry,
    CaseStage,
    Citizen,
    Complaint,
    Doorplate,
    Incident,
    Measure,
    MeasureStep,
    Officer,
    PropertyItem,
    Unit,
)
from casework.models import Case as CaseFile
from casework.status import Channel, IncidentStatus
from supervision import complaints as supervision
from supervision import evaluation, evaluation_assignment, evaluation_review, evaluation_standards
from supervision.evaluation_models import EvaluationRectification
from tests.complaint_steps import walk
from tests.evaluation_steps import STANDARD_CSV, add_officers
from tests.miniapp_support import png_bytes

API = "/api/miniapp/v1"
FINISH = (IncidentStatus.DISPATCHED, IncidentStatus.ON_SCENE, IncidentStatus.HANDLED, IncidentStatus.CLOSED)
Entry = tuple[str, object, str, str | None, object]  # actor kind, actor id, action, subject type, subject id
ANY = object()  # an id the case cannot know in advance (compared by presence only)


@dataclass
class World:
    app: object
    tmp_path: object
    citizen_id: int = 0
    officer_id: int = 0
    supervisor_id: int = 0
    incident_id: int = 0
    made: dict = field(default_factory=dict)

    def citizen(self) -> Citizen:
        return db.session.get(Citizen, self.citizen_id)

    def officer(self) -> Officer:
        return db.session.get(Officer, self.officer_id)

    def incident(self) -> Incident:
        return db.session.get(Incident, self.incident_id)

    def login(self, openid: str) -> str:
        answer = self.app.test_client().post(f"{API}/session", json={"code": f"code-{openid}"})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.json["token"]


@dataclass(frozen=True)
class Case:
    prepare: Callable[[World], None]
    act: Callable[[World], object]  # returns the HTTP response or CLI result when there is one
    expected: Callable[[World], list[Entry]]


def nothing(w: World) -> None:
    pass


def finished(w: World) -> None:
    for status in FINISH:
        incidents.change_status(incident=w.incident(), actor=w.officer(), status=status, public_note="进度")


def filed_complaint(w: World) -> None:
    w.made["complaint"] = complaints.file(citizen=w.citizen(), incident=w.incident(), body="出警太慢").id


def complaint_at(status: ComplaintStatus) -> Callable[[World], None]:
    """A prepare step: a complaint filed and taken through the workflow up to `status`."""

    def prepare(w: World) -> None:
        filed_complaint(w)
        walk(
            w.made["complaint"],
            status,
            supervisor=db.session.get(Officer, w.supervisor_id),
            explainer=seed.officer("100007"),
        )

    return prepare


def the_complaint(w: World) -> Complaint:
    return db.session.get(Complaint, w.made["complaint"])


def supervisor_of(w: World) -> Officer:
    return db.session.get(Officer, w.supervisor_id)


def unplaced_then_located(w: World) -> None:
    """A report with no place, routed to the dispatch centre, and then a position near DH-0001 (东湖派出所)."""
    incident = incidents.report(citizen=w.citizen(), channel=Channel.WECHAT, description="不知道在哪")
    routing.route_new_incident(incident.id)
    incidents.set_location(incident=incident, actor=w.citizen(), latitude=30.2742, longitude=120.1552)
    w.made["unplaced"] = incident.id


def csv_file(w: World):
    path = w.tmp_path / "plates.csv"
    path.write_text(
        "code,address,longitude,latitude,unit\nAU-1,示范市东湖区审计路1号,120.1,30.2,33010201\n", encoding="utf-8"
    )
    return path


def cli(w: World, *args):
    result = w.app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


def plate(code: str) -> int:
    return db.session.scalar(select(Doorplate.id).where(Doorplate.code == code))


def last(model, **where) -> int:
    return db.session.scalar(select(model.id).filter_by(**where).order_by(model.id.desc()).limit(1))


def wrong_password(w: World, times: int = 1) -> None:
    for _ in range(times):
        try:
            officers.authenticate(badge_no="100007", password="wrong", address="10.1.1.1")  # w.officer_id
        except officers.LoginRefused:
            pass


def stored_evidence(w: World) -> None:
    attachment = incidents.attach_evidence(
        incident=w.incident(),
        actor=w.citizen(),
        kind=AttachmentKind.IMAGE,
        source_ref="upload:audited-evidence",
        storage_key="audited/evidence.png",
        sha256="0" * 64,
        size=1,
        content_type="image/png",
    )
    w.made["attachment"] = attachment.id
    w.made["centre"] = seed.officer("100007").id  # the incident is not routed yet: the command centre sees it


CASES: dict[str, Case] = {
    "report": Case(
        nothing,
        lambda w: w.made.update(
            new=incidents.report(citizen=w.citizen(), channel=Channel.WECHAT, description="又有人打架").id
        ),
        lambda w: [("citizen", w.citizen_id, "incident.reported", "incident", w.made["new"])],
    ),
    "status": Case(
        nothing,
        lambda w: incidents.change_status(
            incident=w.incident(), actor=w.officer(), status=IncidentStatus.DISPATCHED, public_note="民警已出发"
        ),
        lambda w: [("officer", w.officer_id, "incident.status_changed", "incident", w.incident_id)],
    ),
    "recategorise": Case(
        nothing,
        lambda w: incidents.recategorise(
            incident=w.incident(), actor=w.officer(), category=seed.category("0301"), reason="实为纠纷"
        ),
        lambda w: [("officer", w.officer_id, "incident.recategorised", "incident", w.incident_id)],
    ),
    "locate": Case(
        nothing,
        lambda w: incidents.set_location(
            incident=w.incident(), actor=w.citizen(), latitude=30.27, longitude=120.15, address="东湖路口"
        ),
        lambda w: [("citizen", w.citizen_id, "incident.located", "incident", w.incident_id)],
    ),
    "reroute": Case(
        unplaced_then_located,
        lambda w: routing.route_new_incident(w.made["unplaced"]),
        lambda w: [("system", None, "incident.rerouted", "incident", w.made["unplaced"])],
    ),
    "chat": Case(
        nothing,
        lambda w: w.made.update(
            message=chat.add_message(incident=w.incident(), actor=w.officer(), body="请问现在还在现场吗?").id
        ),
        lambda w: [("officer", w.officer_id, "chat.message_added", "chat_message", w.made["message"])],
    ),
    "rate": Case(
        finished,
        lambda w: incidents.rate(incident=w.incident(), citizen=w.citizen(), rating=5, comment="很快"),
        lambda w: [("citizen", w.citizen_id, "incident.rated", "incident", w.incident_id)],
    ),
    "complain": Case(
        nothing,
        filed_complaint,
        lambda w: [("citizen", w.citizen_id, "complaint.filed", "complaint", w.made["complaint"])],
    ),
    "route complaint to unit": Case(
        filed_complaint,
        lambda w: complaints.route_to_unit(w.made["complaint"]),
        lambda w: [("system", None, "complaint.routed_to_unit", "complaint", w.made["complaint"])],
    ),
    "route complaint to supervision": Case(
        filed_complaint,
        lambda w: complaints.route_to_supervision(w.made["complaint"]),
        lambda w: [("system", None, "complaint.routed_to_supervision", "complaint", w.made["complaint"])],
    ),
    "accept complaint": Case(
        complaint_at(ComplaintStatus.ROUTED),
        lambda w: supervision.accept(complaint=the_complaint(w), officer=supervisor_of(w)),
        lambda w: [("officer", w.supervisor_id, "complaint.accepted", "complaint", w.made["complaint"])],
    ),
    "request explanation": Case(
        complaint_at(ComplaintStatus.ACCEPTED),
        lambda w: supervision.request_explanation(complaint=the_complaint(w), officer=supervisor_of(w), request="说明"),
        lambda w: [("officer", w.supervisor_id, "complaint.explanation_requested", "complaint", w.made["complaint"])],
    ),
    "explain complaint": Case(
        complaint_at(ComplaintStatus.INVESTIGATING),
        lambda w: complaint_inbox.explain(
            complaint=the_complaint(w), officer=seed.officer("100007"), explanation="当晚警力不足"
        ),
        lambda w: [("officer", seed.officer("100007").id, "complaint.explained", "complaint", w.made["complaint"])],
    ),
    "complaint verdict": Case(
        complaint_at(ComplaintStatus.EXPLAINED),
        lambda w: supervision.give_verdict(
            complaint=the_complaint(w), officer=supervisor_of(w), verdict="substantiated", action="通报批评"
        ),
        lambda w: [("officer", w.supervisor_id, "complaint.verdict_given", "complaint", w.made["complaint"])],
    ),
    "answer": Case(
        complaint_at(ComplaintStatus.DECIDED),
        lambda w: supervision.answer(complaint=the_complaint(w), officer=supervisor_of(w), text="已核实并整改"),
        lambda w: [("officer", w.supervisor_id, "complaint.answered", "complaint", w.made["complaint"])],
    ),
    "rate answer": Case(
        complaint_at(ComplaintStatus.ANSWERED),
        lambda w: complaints.rate_answer(complaint=the_complaint(w), citizen=w.citizen(), rating=4),
        lambda w: [
            ("citizen", w.citizen_id, "complaint.answer_rated", "complaint", w.made["complaint"]),
            ("citizen", w.citizen_id, "complaint.closed", "complaint", w.made["complaint"]),
        ],
    ),
    "rate answer unsatisfied": Case(
        complaint_at(ComplaintStatus.ANSWERED),
        lambda w: complaints.rate_answer(complaint=the_complaint(w), citizen=w.citizen(), rating=1),
        lambda w: [
            ("citizen", w.citizen_id, "complaint.answer_rated", "complaint", w.made["complaint"]),
            ("system", None, "complaint.reopened", "complaint", w.made["complaint"]),
        ],
    ),
    "login": Case(
        nothing,
        lambda w: w.app.test_client().post(f"{API}/session", json={"code": "code-o-mini-audit"}),
        lambda w: [
            ("citizen", ANY, "citizen.registered", "citizen", ANY),
            ("citizen", ANY, "miniapp.logged_in", "miniapp_session", ANY),
        ],
    ),
    "console login": Case(
        nothing,
        lambda w: officers.authenticate(badge_no="100007", password=seed.DEMO_PASSWORD, address="10.1.1.1"),
        lambda w: [("officer", w.officer_id, "officer.logged_in", "officer", w.officer_id)],
    ),
    "console login failure": Case(
        nothing,
        wrong_password,
        lambda w: [("system", None, "officer.login_failed", "officer", w.officer_id)],
    ),
    "console lockout": Case(
        lambda w: wrong_password(w, 4),
        wrong_password,
        lambda w: [
            ("system", None, "officer.login_failed", "officer", w.officer_id),
            ("system", None, "officer.locked_out", "officer", w.officer_id),
        ],
    ),
    "assign": Case(
        nothing,
        lambda w: dispatch.assign(
            incident=w.incident(), actor=seed.officer("100007"), officer=seed.officer("100003"), reason="就近"
        ),
        lambda w: [("officer", seed.officer("100007").id, "incident.assigned", "incident", w.incident_id)],
    ),
    "internal note": Case(
        nothing,
        lambda w: dispatch.add_internal_note(incident=w.incident(), actor=seed.officer("100007"), note="注意安抚"),
        lambda w: [("officer", seed.officer("100007").id, "incident.noted", "incident", w.incident_id)],
    ),
    "phone-in report": Case(
        nothing,
        lambda w: w.made.update(
            new=dispatch.report_by_phone(
                dispatcher=seed.officer("100001"), phone="13900001111", description="电话报警:有人落水"
            ).id
        ),
        lambda w: [
            ("citizen", ANY, "citizen.registered", "citizen", ANY),
            ("citizen", ANY, "incident.reported", "incident", w.made["new"]),
            ("officer", seed.officer("100001").id, "incident.taken_by_phone", "incident", w.made["new"]),
        ],
    ),
    "reveal reporter": Case(
        nothing,
        lambda w: viewing.reveal_reporter(officer=seed.officer("100007"), incident=w.incident(), reason="回拨核实"),
        lambda w: [("officer", seed.officer("100007").id, "citizen.revealed", "citizen", w.citizen_id)],
    ),
    "officer create": Case(
        nothing,
        lambda w: w.made.update(
            new=officers.create_officer(
                actor=seed.officer("100000"),
                badge_no="200009",
                name="新警员",
                unit=seed.officer("100002").unit,
                roles=["officer"],
                password="a-long-password",
            ).id
        ),
        lambda w: [("officer", seed.officer("100000").id, "officer.created", "officer", w.made["new"])],
    ),
    "officer password reset": Case(
        nothing,
        lambda w: officers.reset_password(
            actor=seed.officer("100000"), officer=w.officer(), password="b-long-password"
        ),
        lambda w: [("officer", seed.officer("100000").id, "officer.password_reset", "officer", w.officer_id)],
    ),
    "officer roles": Case(
        nothing,
        lambda w: officers.set_roles(actor=seed.officer("100000"), officer=w.officer(), roles=["dispatcher"]),
        lambda w: [("officer", seed.officer("100000").id, "officer.roles_changed", "officer", w.officer_id)],
    ),
    "officer wechat binding": Case(
        nothing,
        lambda w: officers.bind_wechat(actor=seed.officer("100000"), officer=w.officer(), openid="oa-officer-bound"),
        lambda w: [("officer", seed.officer("100000").id, "officer.wechat_bound", "officer", w.officer_id)],
    ),
    "officer deactivate": Case(
        nothing,
        lambda w: officers.deactivate(actor=seed.officer("100000"), officer=w.officer()),
        lambda w: [("officer", seed.officer("100000").id, "officer.deactivated", "officer", w.officer_id)],
    ),
    "view evidence": Case(
        stored_evidence,
        lambda w: viewing.view_evidence(
            officer=db.session.get(Officer, w.made["centre"]), attachment_id=w.made["attachment"]
        ),
        lambda w: [("officer", w.made["centre"], "attachment.viewed", "attachment", w.made["attachment"])],
    ),
    "consent": Case(
        lambda w: w.made.update(token=w.login("o-mini-consent")),
        lambda w: w.app.test_client().post(
            f"{API}/subscriptions",
            json={"results": {"tmpl-a": "accept"}},
            headers={"Authorization": f"Bearer {w.made['token']}"},
        ),
        lambda w: [("citizen", ANY, "miniapp.consent_granted", "citizen", ANY)],
    ),
    "upload": Case(
        lambda w: w.made.update(token=w.login("o-mini-upload")),
        lambda w: w.app.test_client().post(
            f"{API}/uploads",
            data={"file": (io.BytesIO(png_bytes()), "a.png")},
            headers={"Authorization": f"Bearer {w.made['token']}"},
            content_type="multipart/form-data",
        ),
        lambda w: [("citizen", ANY, "miniapp.uploaded", "miniapp_upload", ANY)],
    ),
    "category edit": Case(
        nothing,
        lambda w: categories.update(category=seed.category("0101"), actor=seed.officer("100000"), guide="1. 先看现场"),
        lambda w: [("officer", seed.officer("100000").id, "category.updated", "category", seed.category("0101").id)],
    ),
    "doorplate import": Case(
        nothing,
        lambda w: cli(w, "doorplates", "import", str(csv_file(w))),
        lambda w: [("system", None, "doorplates.imported", None, None)] if plate("AU-1") else [],
    ),
    "doorplate revoke": Case(
        nothing,
        lambda w: cli(w, "doorplates", "revoke", "DH-0002", "--reason", "门牌丢失"),
        lambda w: [("system", None, "doorplate.revoked", "doorplate", plate("DH-0002"))],
    ),
    "doorplate move": Case(
        nothing,
        lambda w: cli(w, "doorplates", "move", "DH-0003", "--to", "DH-0002", "--reason", "重新编号"),
        lambda w: [("system", None, "doorplate.moved", "doorplate", plate("DH-0003"))],
    ),
}


STATION = "100002"  # the incident's station (its doorplate's unit)
LEGAL = "100004"
ADMIN = "100000"


def station(w: World) -> Officer:
    return seed.officer(STATION)


def handled(w: World) -> None:
    for status in FINISH[:3]:
        incidents.change_status(incident=w.incident(), actor=station(w), status=status)


def accepted(w: World) -> None:
    handled(w)
    incidents.change_status(incident=w.incident(), actor=station(w), status=IncidentStatus.ACCEPTED)


def the_case(w: World) -> CaseFile:
    return db.session.get(CaseFile, w.incident_id)


def filed(w: World) -> None:
    accepted(w)
    cases.decide_filing(case=the_case(w), actor=station(w), filed=True)


def detained(w: World) -> None:
    filed(w)
    w.made["measure"] = measures.start(
        case=the_case(w),
        actor=station(w),
        kind="detention",
        person_name="张某",
        approved_by=seed.officer(LEGAL),
        document_ref="拘字1号",
    ).id


def extended_unapproved(w: World) -> None:
    detained(w)
    w.made["step"] = measures.extend(
        measure=db.session.get(Measure, w.made["measure"]), actor=station(w), days=2, reason="案情复杂"
    ).id


def seized(w: World) -> None:
    accepted(w)
    w.made["item"] = case_property.seize(
        case=the_case(w), actor=station(w), description="手机", quantity=1, quantity_unit="部"
    ).id


def with_material(w: World) -> None:
    accepted(w)
    w.made["material"] = case_materials.add(
        case=the_case(w),
        actor=station(w),
        kind="questioning",
        title="询问笔录",
        storage_key="k",
        sha256="0" * 64,
        size=1,
    ).id


def by_station(action: str, subject: str, subject_id) -> Callable[[World], list[Entry]]:
    return lambda w: [("officer", seed.officer(STATION).id, action, subject, subject_id(w))]


CASE_FILE_CASES: dict[str, Case] = {
    "accept opens the case": Case(
        handled,
        lambda w: incidents.change_status(incident=w.incident(), actor=station(w), status=IncidentStatus.ACCEPTED),
        lambda w: [
            ("officer", seed.officer(STATION).id, "incident.status_changed", "incident", w.incident_id),
            ("officer", seed.officer(STATION).id, "case.opened", "case_file", w.incident_id),
        ],
    ),
    "case cause": Case(
        accepted,
        lambda w: cases.change_cause(case=the_case(w), actor=station(w), cause_code="X0101", reason="盗窃"),
        by_station("case.cause_changed", "case_file", lambda w: w.incident_id),
    ),
    "case filing": Case(
        accepted,
        lambda w: cases.decide_filing(case=the_case(w), actor=station(w), filed=False, reason="没有犯罪事实"),
        lambda w: [
            ("officer", seed.officer(STATION).id, "incident.status_changed", "incident", w.incident_id),
            ("officer", seed.officer(STATION).id, "case.stage_changed", "case_file", w.incident_id),
        ],
    ),
    "case stage": Case(
        filed,
        lambda w: cases.advance(case=the_case(w), actor=station(w), stage=CaseStage.INVESTIGATING),
        by_station("case.stage_changed", "case_file", lambda w: w.incident_id),
    ),
    "case officers": Case(
        accepted,
        lambda w: cases.assign(case=the_case(w), actor=station(w), lead=station(w), second=seed.officer("100003")),
        by_station("case.assigned", "case_file", lambda w: w.incident_id),
    ),
    "case view": Case(
        accepted,
        lambda w: cases.view(officer=station(w), case_id=w.incident_id, what="property_list"),
        by_station("case.viewed", "case_file", lambda w: w.incident_id),
    ),
    "measure start": Case(
        filed,
        lambda w: w.made.update(
            measure=measures.start(
                case=the_case(w),
                actor=station(w),
                kind="bail",
                person_name="王某",
                approved_by=seed.officer(LEGAL),
                document_ref="取保字1号",
            ).id
        ),
        by_station("measure.started", "case_measure", lambda w: w.made["measure"]),
    ),
    "measure extend": Case(
        detained,
        lambda w: measures.extend(
            measure=db.session.get(Measure, w.made["measure"]),
            actor=station(w),
            days=4,
            approved_by=seed.officer(LEGAL),
            document_ref="延拘字1号",
            reason="案情复杂",
        ),
        by_station("measure.extended", "case_measure", lambda w: w.made["measure"]),
    ),
    "measure approve": Case(
        extended_unapproved,
        lambda w: measures.approve(
            step=db.session.get(MeasureStep, w.made["step"]), approver=seed.officer(LEGAL), document_ref="批字1号"
        ),
        lambda w: [("officer", seed.officer(LEGAL).id, "measure.approved", "case_measure", w.made["measure"])],
    ),
    "measure end": Case(
        detained,
        lambda w: measures.end(
            measure=db.session.get(Measure, w.made["measure"]),
            actor=station(w),
            reason="不需要追究刑事责任",
            approved_by=seed.officer(LEGAL),
            document_ref="释字1号",
        ),
        by_station("measure.ended", "case_measure", lambda w: w.made["measure"]),
    ),
    "measure change": Case(
        detained,
        lambda w: w.made.update(
            new=measures.change(
                measure=db.session.get(Measure, w.made["measure"]),
                actor=station(w),
                to_kind="arrest_request",
                approved_by=seed.officer(LEGAL),
                document_ref="提捕字1号",
            ).id
        ),
        lambda w: [
            ("officer", seed.officer(STATION).id, "measure.started", "case_measure", w.made["new"]),
            ("officer", seed.officer(STATION).id, "measure.changed", "case_measure", w.made["measure"]),
        ],
    ),
    "property seize": Case(
        accepted,
        lambda w: w.made.update(
            item=case_property.seize(
                case=the_case(w), actor=station(w), description="现金", quantity=200, quantity_unit="元"
            ).id
        ),
        by_station("property.seized", "case_property_item", lambda w: w.made["item"]),
    ),
    "property move": Case(
        seized,
        lambda w: case_property.move(
            item=db.session.get(PropertyItem, w.made["item"]),
            actor=station(w),
            kind="stored",
            receiver=seed.officer("100003"),
        ),
        by_station("property.moved", "case_property_item", lambda w: w.made["item"]),
    ),
    "material add": Case(
        accepted,
        lambda w: w.made.update(
            material=case_materials.add(
                case=the_case(w),
                actor=station(w),
                kind="questioning",
                title="询问笔录",
                storage_key="k",
                sha256="0" * 64,
                size=1,
            ).id
        ),
        by_station("material.added", "case_material", lambda w: w.made["material"]),
    ),
    "material view": Case(
        with_material,
        lambda w: case_materials.view(officer=station(w), material_id=w.made["material"]),
        by_station("material.viewed", "case_material", lambda w: w.made["material"]),
    ),
    "case type follows a recategorisation": Case(
        accepted,
        lambda w: incidents.recategorise(
            incident=w.incident(), actor=station(w), category=seed.category("0105"), reason="殴打他人"
        ),
        lambda w: [
            ("officer", seed.officer(STATION).id, "case.type_changed", "case_file", w.incident_id),
            ("officer", seed.officer(STATION).id, "incident.recategorised", "incident", w.incident_id),
        ],
    ),
    "cause add": Case(
        nothing,
        lambda w: causes.add(actor=seed.officer(ADMIN), code="X0199", name="测试案", case_type="criminal"),
        lambda w: [("officer", seed.officer(ADMIN).id, "cause.added", "case_cause", causes.find("X0199").id)],
    ),
    "cause rename": Case(
        nothing,
        lambda w: causes.rename(actor=seed.officer(ADMIN), cause=causes.find("X0101"), name="盗窃案(含入户)"),
        lambda w: [("officer", seed.officer(ADMIN).id, "cause.renamed", "case_cause", causes.find("X0101").id)],
    ),
    "cause deactivate": Case(
        nothing,
        lambda w: causes.set_active(actor=seed.officer(ADMIN), cause=causes.find("X0101"), active=False),
        lambda w: [("officer", seed.officer(ADMIN).id, "cause.deactivated", "case_cause", causes.find("X0101").id)],
    ),
    "cause delete": Case(
        lambda w: w.made.update(cause=causes.find("X0118").id),
        lambda w: causes.delete(actor=seed.officer(ADMIN), cause=causes.find("X0118")),
        lambda w: [("officer", seed.officer(ADMIN).id, "cause.deleted", "case_cause", w.made["cause"])],
    ),
}
CASES.update(CASE_FILE_CASES)


@pytest.fixture
def world_app(make_app, redis, redis_url, tmp_path):
    """The demo world on an app whose jobs go to Redis and stay there (so only the use case's entries appear)."""
    app = make_app(
        REDIS_URL=redis_url, MINIAPP_APPID="wx-audit-mini", MINIAPP_SECRET="s", MEDIA_ROOT=str(tmp_path / "media")
    )
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        citizen = citizens.identify(oa_openid="o-audited", unionid="u-audited")
        w = World(
            app=app,
            tmp_path=tmp_path,
            citizen_id=citizen.id,
            officer_id=seed.officer("100007").id,  # the command centre: the incident is not routed (jobs wait)
            supervisor_id=seed.officer("100000").id,  # province level, so the unrouted complaint is in scope
        )
        # At a doorplate of the officer's station, so it is theirs without the routing job (which stays queued).
        w.incident_id = incidents.report(
            citizen=citizen, channel=Channel.WECHAT, description="有人在打架", doorplate=seed.doorplate("DH-0002")
        ).id
        db.session.commit()
        yield w
        db.session.remove()


def head() -> int:
    return db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0


def entries_after(seq: int) -> list[Entry]:
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)).all()
    return [(r.actor_kind, r.actor_id, r.action, r.subject_type, r.subject_id) for r in rows]


def matches(got: list[Entry], expected: list[Entry]) -> bool:
    return len(got) == len(expected) and all(
        all((e is ANY and g is not None) or e == g for g, e in zip(one, want, strict=True))
        for one, want in zip(got, expected, strict=True)
    )


@pytest.mark.parametrize("name", CASES)
def test_each_use_case_writes_exactly_its_audit_entries(world_app, name):
    w, case = world_app, CASES[name]
    case.prepare(w)
    db.session.commit()
    before = head()
    outcome = case.act(w)
    if hasattr(outcome, "status_code"):
        assert outcome.status_code in (200, 201), outcome.get_data(as_text=True)
    db.session.rollback()
    got, expected = entries_after(before), case.expected(w)
    assert matches(got, expected), f"{name}: got {got}, expected {expected}"


def snapshot() -> str:
    """A digest of every row of every table: any change anywhere shows."""
    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table).order_by(*table.primary_key.columns)):
            digest.update(repr(tuple(row)).encode())
    db.session.rollback()
    return digest.hexdigest()


@pytest.mark.needs_postgresql
@pytest.mark.parametrize("name", CASES)
def test_when_the_audit_write_fails_the_whole_change_is_rolled_back(world_app, postgresql_only, name):
    w, case = world_app, CASES[name]
    case.prepare(w)
    db.session.commit()
    before = snapshot()
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION wx110_test_fault() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected audit failure'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER wx110_test_fault BEFORE INSERT ON audit_entry FOR EACH ROW "
                "EXECUTE FUNCTION wx110_test_fault()"
            )
        )
    try:
        try:
            outcome = case.act(w)
        except AssertionError:  # a CLI command that failed, as it must
            outcome = None
        except Exception as exc:  # noqa: BLE001 - the injected failure, surfacing from a service
            assert "injected audit failure" in str(exc)
            outcome = None
        db.session.rollback()
        if hasattr(outcome, "status_code"):
            assert outcome.status_code >= 500, outcome.get_data(as_text=True)
        assert snapshot() == before, f"{name} changed the database although its audit entry failed"
    finally:
        with db.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS wx110_test_fault ON audit_entry"))
            connection.execute(text("DROP FUNCTION IF EXISTS wx110_test_fault()"))


# -- online evaluation ----------------------------------------------------------------------------------------

ADMIN, ORGANISER, EVALUATOR = "100000", "100009", "100008"


def standard_imported(w: World) -> None:
    w.made["standard"] = evaluation_standards.import_file(
        STANDARD_CSV.encode(), actor=seed.officer(ADMIN), name="执法质量考评标准", filename="s.csv"
    ).id


def plan_ready(w: World) -> None:
    accepted(w)
    standard_imported(w)
    add_officers()


def new_plan(w: World):
    today = clock.local(clock.now()).date()
    w.made["plan"] = evaluation.create_plan(
        actor=seed.officer(ORGANISER),
        name="考评",
        standard_id=w.made["standard"],
        period_start=today - timedelta(days=1),
        period_end=today + timedelta(days=1),
        unit_ids=[station(w).unit_id],
        case_types=["criminal", "public_order"],
        sample_count=1,
        scoring_due_at=clock.now() + timedelta(days=5),
        appeal_due_at=clock.now() + timedelta(days=10),
        review_due_at=clock.now() + timedelta(days=15),
    ).id


def planned(w: World) -> None:
    plan_ready(w)
    new_plan(w)


def drawn(w: World) -> None:
    planned(w)
    w.made["task"] = evaluation.draw(actor=seed.officer(ORGANISER), plan_id=w.made["plan"])[0].id


def with_spare_evaluator(w: World) -> None:
    """A drawn task, and a legal officer of another county who may take it over."""
    drawn(w)
    county = db.session.scalar(select(Unit).where(Unit.code == "330103"))
    spare = Officer(badge_no="100011", name="许法", unit=county, roles=["legal_officer"])
    db.session.add(spare)
    db.session.flush()
    w.made["spare"] = spare.id


CLOCK_STARTED = ("system", None, "clock.started", "deadline_clock", ANY)
CLOCK_STOPPED = ("system", None, "clock.stopped", "deadline_clock", ANY)


def criterion(w: World, code: str = "SA-02") -> int:
    return next(c.id for c in evaluation_standards.standard(w.made["standard"]).criteria if c.code == code)


def record(w: World) -> None:
    w.made["finding"] = evaluation.record_finding(
        evaluator=seed.officer(EVALUATOR), task_id=w.made["task"], criterion_id=criterion(w), evidence="笔录第2页"
    ).id


def with_finding(w: World) -> None:
    drawn(w)
    record(w)


def submitted(w: World) -> None:
    with_finding(w)
    evaluation.submit(evaluator=seed.officer(EVALUATOR), task_id=w.made["task"])


def appealed(w: World) -> None:
    submitted(w)
    evaluation_review.appeal(officer=station(w), finding_id=w.made["finding"], reason="已告知")


def confirmed(w: World) -> None:
    appealed(w)
    evaluation_review.review(officer=seed.officer(ORGANISER), finding_id=w.made["finding"], upheld=False, reason="属实")
    w.made["rectification"] = db.session.scalar(select(EvaluationRectification.id))


def rectified(w: World) -> None:
    confirmed(w)
    evaluation_review.record_rectification(officer=station(w), rectification_id=w.made["rectification"], text="已整改")


def by(badge: str, action: str, subject: str, subject_id) -> Entry:
    return ("officer", seed.officer(badge).id, action, subject, subject_id)


def finding_confirmed(w: World, actor: Entry | None = None) -> list[Entry]:
    return [
        ("system", None, "clock.started", "deadline_clock", ANY),
        actor or ("system", None, "evaluation.finding_confirmed", "evaluation_finding", w.made["finding"]),
    ]


EVALUATION_CASES: dict[str, Case] = {
    "evaluation standard import": Case(
        nothing,
        standard_imported,
        lambda w: [by(ADMIN, "evaluation.standard_imported", "evaluation_standard", w.made["standard"])],
    ),
    "evaluation standard edit": Case(
        standard_imported,
        lambda w: evaluation_standards.edit_criterion(
            actor=seed.officer(ADMIN),
            standard_id=w.made["standard"],
            code="SA-09",
            text="新增考评项",
            concerns="立案",
            points="3",
            severity="一般",
        ),
        lambda w: [by(ADMIN, "evaluation.standard_edited", "evaluation_standard", ANY)],
    ),
    "evaluation plan": Case(
        plan_ready, new_plan, lambda w: [by(ORGANISER, "evaluation.plan_created", "evaluation_plan", w.made["plan"])]
    ),
    "evaluation draw": Case(
        planned,
        lambda w: evaluation.draw(actor=seed.officer(ORGANISER), plan_id=w.made["plan"]),
        lambda w: [by(ORGANISER, "evaluation.drawn", "evaluation_plan", w.made["plan"]), CLOCK_STARTED],
    ),
    "evaluation task extend": Case(
        drawn,
        lambda w: evaluation_assignment.extend(
            actor=seed.officer(ORGANISER),
            task_id=w.made["task"],
            due_at=clock.now() + timedelta(days=7),
            reason="评查人出差",
        ),
        lambda w: [
            CLOCK_STOPPED,
            CLOCK_STARTED,
            by(ORGANISER, "evaluation.task_extended", "evaluation_task", w.made["task"]),
        ],
    ),
    "evaluation task reassign": Case(
        with_spare_evaluator,
        lambda w: evaluation_assignment.reassign(
            actor=seed.officer(ORGANISER), task_id=w.made["task"], evaluator_id=w.made["spare"], reason="改派"
        ),
        lambda w: [
            CLOCK_STOPPED,
            CLOCK_STARTED,
            by(ORGANISER, "evaluation.task_reassigned", "evaluation_task", w.made["task"]),
        ],
    ),
    "evaluation case view": Case(
        drawn,
        lambda w: evaluation.read_case(evaluator=seed.officer(EVALUATOR), task_id=w.made["task"], what="materials"),
        lambda w: [by(EVALUATOR, "evaluation.case_viewed", "case_file", w.incident_id)],
    ),
    "evaluation finding": Case(
        drawn, record, lambda w: [by(EVALUATOR, "evaluation.finding_recorded", "evaluation_finding", ANY)]
    ),
    "evaluation submit": Case(
        with_finding,
        lambda w: evaluation.submit(evaluator=seed.officer(EVALUATOR), task_id=w.made["task"]),
        lambda w: [CLOCK_STOPPED, by(EVALUATOR, "evaluation.task_submitted", "evaluation_task", w.made["task"])],
    ),
    "evaluation appeal": Case(
        submitted,
        lambda w: evaluation_review.appeal(officer=station(w), finding_id=w.made["finding"], reason="已告知"),
        lambda w: [CLOCK_STARTED, by(STATION, "evaluation.finding_appealed", "evaluation_finding", w.made["finding"])],
    ),
    "evaluation review upheld": Case(
        appealed,
        lambda w: evaluation_review.review(
            officer=seed.officer(ORGANISER), finding_id=w.made["finding"], upheld=True, reason="成立"
        ),
        lambda w: [
            CLOCK_STOPPED,
            by(ORGANISER, "evaluation.appeal_reviewed", "evaluation_finding", w.made["finding"]),
        ],
    ),
    "evaluation review rejected": Case(
        appealed,
        lambda w: evaluation_review.review(
            officer=seed.officer(ORGANISER), finding_id=w.made["finding"], upheld=False, reason="属实"
        ),
        lambda w: [
            CLOCK_STOPPED,
            by(ORGANISER, "evaluation.appeal_reviewed", "evaluation_finding", w.made["finding"]),
            *finding_confirmed(
                w, by(ORGANISER, "evaluation.finding_confirmed", "evaluation_finding", w.made["finding"])
            ),
        ],
    ),
    "evaluation window close": Case(
        submitted,
        lambda w: evaluation_review.close_windows(now=clock.now() + timedelta(days=11)),
        lambda w: [
            *finding_confirmed(w),
            ("system", None, "evaluation.window_closed", "evaluation_plan", w.made["plan"]),
        ],
    ),
    "evaluation rectification record": Case(
        confirmed,
        lambda w: evaluation_review.record_rectification(
            officer=station(w), rectification_id=w.made["rectification"], text="已整改"
        ),
        lambda w: [by(STATION, "evaluation.rectification_recorded", "evaluation_rectification", ANY)],
    ),
    "evaluation rectification accept": Case(
        rectified,
        lambda w: evaluation_review.accept_rectification(
            officer=seed.officer(ORGANISER), rectification_id=w.made["rectification"]
        ),
        lambda w: [
            ("system", None, "clock.stopped", "deadline_clock", ANY),
            by(ORGANISER, "evaluation.rectification_accepted", "evaluation_rectification", w.made["rectification"]),
        ],
    ),
}
CASES.update(EVALUATION_CASES)
