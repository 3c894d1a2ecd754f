"""The console's case pages: the case (its stages, cause and history, officers), its compulsory measures, its
property with the chain of custody and a printable property list, and its materials. Every page is scoped by
unit (another unit's case answers 404 like a missing one) and audited on view; every form carries its CSRF token.

Each route translates a form or a link into one casework call, like the rest of the console.
"""

from datetime import datetime, time

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from casework import case_materials, case_property, cases, causes, clock, measures
from casework.access import MISSING_RECORD, scope_of
from casework.db import db
from casework.errors import DomainError, NotFound
from casework.models import Case, CaseStage, Officer, Role
from console.auth import me, requires
from console.views import csrf, headers
from media import sniff
from media.storage import TooLarge, storage
from supervision import board, clocks, points
from supervision.models import DeadlineClock, SubjectType

bp = Blueprint("cases", __name__, url_prefix="/console/cases")
bp.after_request(headers)

CASE_ROLES = (Role.OFFICER, Role.LEGAL_OFFICER, Role.SUPERVISOR, Role.DISPATCHER)
# The property room's keeper reads the case list and the property pages (the custody chain, the printed list).
PROPERTY_READERS = (*CASE_ROLES, Role.PROPERTY_KEEPER)
MATERIAL_MAX_BYTES = 50 * 1024 * 1024


@bp.before_request
def check_csrf() -> None:
    csrf.protect()


@bp.context_processor
def what_the_viewer_reads() -> dict:
    """Whether the viewer reads the whole case (else only its property: a keeper), for the links and tabs."""
    viewer = getattr(current_user, "officer", None)  # an error page may be rendered before anyone signed in
    return {"reads_case": viewer is not None and any(viewer.has_role(r) for r in CASE_ROLES)}


def _viewed(case_id: int, what: str) -> Case:
    return cases.view(officer=me(), case_id=case_id, what=what)


def _officers(*roles: Role) -> list[Officer]:
    viewer = me()
    found = db.session.scalars(
        select(Officer).where(Officer.active, scope_of(viewer).clause(Officer.unit_id)).order_by(Officer.badge_no)
    ).all()
    return [o for o in found if not roles or any(r.value in (o.roles or []) for r in roles)]


def _approvers() -> list[Officer]:
    """Who may approve: legal officers and supervisors of the viewer's scope and of the units above it."""
    viewer = me()
    above = [u.id for u in viewer.unit.ancestors()]
    found = db.session.scalars(
        select(Officer)
        .where(Officer.active, scope_of(viewer).clause(Officer.unit_id) | Officer.unit_id.in_(above))
        .order_by(Officer.badge_no)
    ).all()
    return [o for o in found if any(r.value in (o.roles or []) for r in measures.APPROVING_ROLES)]


def _chosen_officer(field: str) -> Officer | None:
    """The officer a form's select named, if the viewer could have chosen them (else none)."""
    value = request.form.get(field, "")
    chosen = db.session.get(Officer, int(value)) if value.isdigit() else None
    if chosen is None:
        return None
    if scope_of(me()).covers(chosen.unit_id) or chosen.unit_id in {u.id for u in me().unit.ancestors()}:
        return chosen
    return None


def _int(field: str) -> int | None:
    value = request.form.get(field, "").strip()
    return int(value) if value.isdigit() else None


def _date(field: str) -> datetime | None:
    """A date picked in the form, as the end of that day in Beijing."""
    value = request.form.get(field, "").strip()
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time(18, 0), tzinfo=clock.CHINA)


PDF = "application/pdf"


def _content_type(upload, *, documents: bool) -> str | None:
    """What the uploaded bytes are (never the declared type): a JPEG or PNG, or for a document also a PDF."""
    head = upload.stream.read(16)
    upload.stream.seek(0)
    if documents and head.startswith(b"%PDF-"):
        return PDF
    try:
        found = sniff.sniff(head)
    except sniff.Rejected:
        return None
    return found.content_type if found.content_type in sniff.IMAGE_TYPES else None


def _act(action, done: str) -> None:
    try:
        action()
    except DomainError as refused:
        flash(refused.message, "error")
    else:
        flash(done)


@bp.get("")
@requires(*PROPERTY_READERS)
def case_list():
    return render_template("console/case_list.html", cases=cases.cases_for(me()), causes=causes)


@bp.get("/<int:case_id>")
@requires(*CASE_ROLES)
def case_page(case_id: int):
    case = _viewed(case_id, "case")
    return render_template(
        "console/case.html",
        case=case,
        stages=cases.stages(case),
        history=cases.history(case),
        causes=causes,
        cause_choices=causes.of_type(case.case_type),
        officers=_officers(Role.OFFICER, Role.LEGAL_OFFICER),
        own_steps=[s for s, allowed in cases.OWN_STEPS.items() if case.stage_enum in allowed],
        concludable=case.stage_enum in cases.CONCLUDABLE,
        missing=case_materials.missing(case),
        material_kinds=case_materials.KINDS,
        stage_type=CaseStage,
        deadlines=_deadlines(case),
        point_names={code: name for code, name, *_ in points.DEFAULTS},
        may_extend=any(me().has_role(r) for r in clocks.EXTENDING_ROLES),
    )


STAGE_DEADLINES = (points.FILING_OVERDUE, points.CASE_OVERDUE, points.INVESTIGATION_OVERDUE)


def _deadlines(case: Case) -> list[DeadlineClock]:
    """The case's running stage deadlines (filing review, public-order case, investigation), which an approval may
    extend."""
    return list(
        db.session.scalars(
            select(DeadlineClock)
            .where(
                DeadlineClock.subject_type == SubjectType.CASE.value,
                DeadlineClock.subject_id == case.id,
                DeadlineClock.kind.in_(STAGE_DEADLINES),
                DeadlineClock.stopped_at.is_(None),
            )
            .order_by(DeadlineClock.id)
        )
    )


@bp.post("/<int:case_id>/deadlines/<int:clock_id>/extend")
@requires(*clocks.EXTENDING_ROLES)
def extend_deadline(case_id: int, clock_id: int):
    """An approved extension of a stage deadline (filing review to 7 or 30 days, a public-order case +30 days, an
    investigation after review)."""
    officer = me()
    case = cases.case_for(officer, case_id)
    target = next((c for c in _deadlines(case) if c.id == clock_id), None)
    if target is None:
        raise NotFound(MISSING_RECORD)
    _act(
        lambda: clocks.extend(
            clock_=target, days=_int("days") or 0, approved_by=officer, reason=request.form.get("reason", "")
        ),
        "已批准延长期限",
    )
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.post("/<int:case_id>/cause")
@requires(*cases.CASE_ROLES)
def change_cause(case_id: int):
    officer = me()
    case = cases.case_for(officer, case_id)
    _act(
        lambda: cases.change_cause(
            case=case, actor=officer, cause_code=request.form.get("cause", ""), reason=request.form.get("reason", "")
        ),
        "已更新案由",
    )
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.post("/<int:case_id>/officers")
@requires(*cases.CASE_ROLES)
def assign(case_id: int):
    officer = me()
    case = cases.case_for(officer, case_id)
    lead = _chosen_officer("lead")
    if lead is None:
        flash("请选择主办民警", "error")
    else:
        _act(
            lambda: cases.assign(case=case, actor=officer, lead=lead, second=_chosen_officer("second")),
            "已指定办案民警",
        )
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.post("/<int:case_id>/stage")
@requires(*cases.CASE_ROLES)
def stage(case_id: int):
    officer = me()
    case = cases.case_for(officer, case_id)
    chosen = request.form.get("stage", "")
    public_note = request.form.get("public_note") or None
    internal_note = request.form.get("internal_note") or None
    if chosen in (CaseStage.FILED.value, CaseStage.NOT_FILED.value):
        _act(
            lambda: cases.decide_filing(
                case=case,
                actor=officer,
                filed=chosen == CaseStage.FILED.value,
                reason=internal_note,
                public_note=public_note,
            ),
            "已记录立案决定",
        )
    elif chosen == CaseStage.CONCLUDED.value:
        _act(
            lambda: cases.conclude(case=case, actor=officer, public_note=public_note, internal_note=internal_note),
            "案件已办结",
        )
    elif chosen in {s.value for s in cases.OWN_STEPS}:
        _act(
            lambda: cases.advance(
                case=case,
                actor=officer,
                stage=CaseStage(chosen),
                public_note=public_note,
                internal_note=internal_note,
            ),
            "已更新案件阶段",
        )
    else:
        flash("请选择案件阶段", "error")
    return redirect(url_for("cases.case_page", case_id=case_id))


# -- measures -------------------------------------------------------------------------------------------------


@bp.get("/<int:case_id>/measures")
@requires(*CASE_ROLES)
def measure_list(case_id: int):
    case = _viewed(case_id, "measures")
    listed = measures.measures_of(case)
    return render_template(
        "console/case_measures.html",
        case=case,
        measures=listed,
        warned=board.open_warnings_of(SubjectType.MEASURE, [m.id for m in listed]),
        kinds=measures.KINDS,
        approvers=_approvers(),
    )


def _measure_of(case_id: int, measure_id: int):
    officer = me()
    measure = measures.measure_for(officer, measure_id)
    if measure.case_id != case_id:
        raise NotFound(MISSING_RECORD)
    return officer, measure


@bp.post("/<int:case_id>/measures")
@requires(*measures.MEASURE_ROLES)
def start_measure(case_id: int):
    officer = me()
    case = cases.case_for(officer, case_id)
    _act(
        lambda: measures.start(
            case=case,
            actor=officer,
            kind=request.form.get("kind", ""),
            person_name=request.form.get("person_name", ""),
            approved_by=_chosen_officer("approved_by"),
            document_ref=request.form.get("document_ref", ""),
            serious=request.form.get("serious") == "1",
        ),
        "已登记强制措施",
    )
    return redirect(url_for("cases.measure_list", case_id=case_id))


@bp.post("/<int:case_id>/measures/<int:measure_id>/<action>")
@requires(*measures.MEASURE_ROLES, *measures.APPROVING_ROLES)
def measure_action(case_id: int, measure_id: int, action: str):
    cases.case_for(me(), case_id)
    officer, measure = _measure_of(case_id, measure_id)
    form = request.form
    if action == "extend":
        amount = _int("amount")
        _act(
            lambda: measures.extend(
                measure=measure,
                actor=officer,
                days=amount,
                hours=amount,
                approved_by=_chosen_officer("approved_by"),
                document_ref=form.get("document_ref") or None,
                reason=form.get("reason", ""),
            ),
            "已登记延长",
        )
    elif action == "approve":
        pending = [s for s in measure.steps if s.kind == "extend" and s.approved_by_id is None]
        if not pending:
            flash("没有待审批的延长", "error")
        else:
            _act(
                lambda: measures.approve(step=pending[0], approver=officer, document_ref=form.get("document_ref", "")),
                "已审批",
            )
    elif action == "end":
        _act(
            lambda: measures.end(
                measure=measure,
                actor=officer,
                reason=form.get("reason", ""),
                approved_by=_chosen_officer("approved_by"),
                document_ref=form.get("document_ref", ""),
            ),
            "已解除",
        )
    elif action == "change":
        _act(
            lambda: measures.change(
                measure=measure,
                actor=officer,
                to_kind=form.get("to_kind", ""),
                approved_by=_chosen_officer("approved_by"),
                document_ref=form.get("document_ref", ""),
                reason=form.get("reason"),
            ),
            "已变更强制措施",
        )
    else:
        flash("未知操作", "error")
    return redirect(url_for("cases.measure_list", case_id=case_id))


# -- property -------------------------------------------------------------------------------------------------


@bp.get("/<int:case_id>/property")
@requires(*PROPERTY_READERS)
def property_list(case_id: int):
    case = _viewed(case_id, "property")
    return render_template(
        "console/case_property.html",
        case=case,
        items=case_property.items_of(case),
        hands=case_property.custody_hands,
        movements=case_property.MOVEMENTS,
        into_room=case_property.INTO_ROOM,
        officers=_receivers(),
        keeper_role=Role.PROPERTY_KEEPER.value,
        me=me(),
    )


def _receivers() -> list[Officer]:
    """Who may receive an item: the officers of the viewer's scope and the keepers of the units above it."""
    viewer = me()
    above = [u.id for u in viewer.unit.ancestors()]
    keepers_above = db.session.scalars(
        select(Officer).where(Officer.active, Officer.unit_id.in_(above)).order_by(Officer.badge_no)
    ).all()
    return _officers() + [o for o in keepers_above if Role.PROPERTY_KEEPER.value in (o.roles or [])]


@bp.get("/<int:case_id>/property/print")
@requires(*PROPERTY_READERS)
def property_print(case_id: int):
    """The printable property list (涉案财物清单) with each item's chain of custody."""
    case = _viewed(case_id, "property_list")
    return render_template(
        "console/case_property_print.html",
        case=case,
        items=case_property.items_of(case),
        hands=case_property.custody_hands,
        movements=case_property.MOVEMENTS,
        into_room=case_property.INTO_ROOM,
        printed_at=clock.now(),
    )


@bp.post("/<int:case_id>/property")
@requires(*case_property.PROPERTY_ROLES)
def seize(case_id: int):
    officer = me()
    case = cases.case_for(officer, case_id)
    photo = request.files.get("photo")
    stored = None
    if photo is not None and photo.filename:
        kind = _content_type(photo, documents=False)
        if kind is None:
            flash("照片仅支持JPEG、PNG格式", "error")
            return redirect(url_for("cases.property_list", case_id=case_id))
        try:
            stored = storage().save(photo.stream, suffix=sniff.Sniffed(kind).suffix, max_bytes=MATERIAL_MAX_BYTES)
        except TooLarge:
            flash("照片过大", "error")
            return redirect(url_for("cases.property_list", case_id=case_id))
    _act(
        lambda: case_property.seize(
            case=case,
            actor=officer,
            description=request.form.get("description", ""),
            quantity=request.form.get("quantity", ""),
            quantity_unit=request.form.get("quantity_unit", ""),
            photo_key=stored.key if stored else None,
            photo_sha256=stored.sha256 if stored else None,
        ),
        "已登记扣押财物",
    )
    return redirect(url_for("cases.property_list", case_id=case_id))


@bp.post("/<int:case_id>/property/<int:item_id>/move")
@requires(*case_property.PROPERTY_ROLES)
def move(case_id: int, item_id: int):
    officer = me()
    cases.case_for(officer, case_id)
    item = case_property.item_for(officer, item_id)
    if item.case_id != case_id:
        raise NotFound(MISSING_RECORD)
    _act(
        lambda: case_property.move(
            item=item,
            actor=officer,
            kind=request.form.get("kind", ""),
            receiver=_chosen_officer("receiver"),
            recipient=request.form.get("recipient") or None,
            return_due_at=_date("return_due"),
            note=request.form.get("note"),
        ),
        "已登记财物流转",
    )
    return redirect(url_for("cases.property_list", case_id=case_id))


@bp.get("/<int:case_id>/property/<int:item_id>/photo")
@requires(*PROPERTY_READERS)
def property_photo(case_id: int, item_id: int):
    officer = me()
    cases.case_for(officer, case_id)
    item = case_property.item_for(officer, item_id)
    if item.case_id != case_id or not item.photo_key:
        raise NotFound(MISSING_RECORD)
    cases.view(officer=officer, case_id=case_id, what=f"property_photo:{item.id}")
    mimetype = sniff.PNG if item.photo_key.endswith(".png") else sniff.JPEG
    response = send_file(storage().path(item.photo_key), mimetype=mimetype, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- materials ------------------------------------------------------------------------------------------------


@bp.get("/<int:case_id>/materials")
@requires(*CASE_ROLES)
def material_list(case_id: int):
    case = _viewed(case_id, "materials")
    return render_template(
        "console/case_materials.html",
        case=case,
        materials=case_materials.materials_of(case),
        kinds=case_materials.KINDS,
        missing=case_materials.missing(case),
    )


@bp.post("/<int:case_id>/materials")
@requires(*case_materials.MATERIAL_ROLES)
def add_material(case_id: int):
    officer = me()
    case = cases.case_for(officer, case_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的文件", "error")
        return redirect(url_for("cases.material_list", case_id=case_id))
    content_type = _content_type(upload, documents=True)
    if content_type is None:
        flash("材料仅支持PDF、JPEG、PNG格式", "error")
        return redirect(url_for("cases.material_list", case_id=case_id))
    try:
        stored = storage().save(upload.stream, max_bytes=MATERIAL_MAX_BYTES)
    except TooLarge:
        flash("文件过大", "error")
        return redirect(url_for("cases.material_list", case_id=case_id))
    _act(
        lambda: case_materials.add(
            case=case,
            actor=officer,
            kind=request.form.get("kind", ""),
            title=request.form.get("title", ""),
            storage_key=stored.key,
            sha256=stored.sha256,
            size=stored.size,
            content_type=content_type,
            original_name=upload.filename,
        ),
        "已上传材料",
    )
    return redirect(url_for("cases.material_list", case_id=case_id))


@bp.get("/<int:case_id>/materials/<int:material_id>")
@requires(*CASE_ROLES)
def material(case_id: int, material_id: int):
    officer = me()
    cases.case_for(officer, case_id)
    record = case_materials.view(officer=officer, material_id=material_id)
    if record.case_id != case_id:
        raise NotFound(MISSING_RECORD)
    response = send_file(
        storage().path(record.storage_key),
        mimetype=record.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=record.original_name or f"{record.title}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
