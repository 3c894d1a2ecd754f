"""Case materials (案件材料): documents of a case typed from a list and kept in evidence storage; each stage names
the materials it needs, and the supervision watches a stage reached without them."""

from datetime import datetime

from sqlalchemy import select

from casework import audit, clock, text
from casework.access import not_found, require_officer, require_visible
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.events import Event, publish
from casework.models import Case, CaseStage, Material, Officer, Role
from casework.unit_of_work import use_case

KINDS = {
    "questioning": "询问(讯问)笔录",
    "filing_decision": "立案决定书",
    "not_filed_notice": "不予立案通知书",
    "detention_warrant": "拘留证",
    "bail_decision": "取保候审决定书",
    "arrest_request": "提请批准逮捕书",
    "seizure_list": "扣押清单",
    "transfer_opinion": "起诉意见书",
    "admin_decision": "行政处罚决定书",
    "notice": "告知书、通知书",
    "other": "其他材料",
}

# What each stage needs on file once reached.
REQUIRED: dict[CaseStage, tuple[str, ...]] = {
    CaseStage.FILED: ("filing_decision",),
    CaseStage.NOT_FILED: ("not_filed_notice",),
    CaseStage.INVESTIGATING: ("questioning",),
    CaseStage.TRANSFERRED: ("transfer_opinion",),
    CaseStage.DECIDED: ("admin_decision",),
}
MATERIAL_ROLES = (Role.OFFICER, Role.LEGAL_OFFICER)


def materials_of(case: Case) -> list[Material]:
    return list(db.session.scalars(select(Material).where(Material.case_id == case.id).order_by(Material.id)))


def missing(case: Case) -> dict[str, list[str]]:
    """For each stage the case reached: the required kinds not on file (empty when nothing is missing)."""
    present = set(db.session.scalars(select(Material.kind).where(Material.case_id == case.id)))
    reached = {
        CaseStage.FILED: case.filed_at,
        CaseStage.NOT_FILED: case.not_filed_at,
        CaseStage.INVESTIGATING: case.investigating_at,
        CaseStage.TRANSFERRED: case.transferred_at,
        CaseStage.DECIDED: case.decided_at,
    }
    found = {}
    for stage, kinds in REQUIRED.items():
        if reached[stage] is not None:
            lacking = [k for k in kinds if k not in present]
            if lacking:
                found[stage.value] = lacking
    return found


@use_case
def add(
    *,
    case: Case,
    actor: Officer,
    kind: str,
    title: str,
    storage_key: str,
    sha256: str,
    size: int,
    content_type: str | None = None,
    original_name: str | None = None,
    now: datetime | None = None,
) -> Material:
    """File one document of the case (its bytes already in evidence storage)."""
    require_officer(actor, *MATERIAL_ROLES)
    require_visible(actor, case)
    if kind not in KINDS:
        raise InvalidInput("材料类型无效")
    if case.stage == CaseStage.CONCLUDED.value:
        raise Conflict("案件已办结,不能再添加材料")
    title = text.clean(title or KINDS[kind], missing="请填写材料名称", limit=128, what="材料名称")
    now = now or clock.now()
    material = Material(
        case_id=case.id,
        kind=kind,
        title=title,
        storage_key=storage_key,
        sha256=sha256,
        size=size,
        content_type=content_type,
        original_name=(original_name or "")[:256] or None,
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    db.session.add(material)
    db.session.flush()
    audit.record(
        actor=actor,
        action="material.added",
        subject=material,
        at=now,
        detail={"case": case.number, "kind": kind, "sha256": sha256, "size": size},
    )
    publish(Event.MATERIAL_ADDED, material_id=material.id)
    return material


@use_case
def view(*, officer: Officer, material_id: int, now: datetime | None = None) -> Material:
    """The material an officer opens, audited; another unit's answers as a missing record."""
    require_officer(officer)
    material = db.session.get(Material, material_id)
    if material is None:
        raise not_found(Material)
    require_visible(officer, material)
    audit.record(
        actor=officer,
        action="material.viewed",
        subject=material,
        at=now or clock.now(),
        detail={"case_id": material.case_id, "sha256": material.sha256},
    )
    return material
