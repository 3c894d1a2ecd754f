"""The console's pages: login, the live queue (polled by htmx), the case page and its actions.

Each route translates a form or a link into one casework call; domain refusals on an action come back to the
page as a flashed message, and another unit's record answers 404 like a missing one.
"""

import secrets
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from casework import (
    case_file,
    categories,
    chat,
    clock,
    complaint_inbox,
    complaints,
    dispatch,
    incidents,
    officers,
    privacy,
    queries,
    queue_marks,
    viewing,
    words,
)
from casework.access import scope_of
from casework.db import db
from casework.errors import DomainError
from casework.models import Category, Officer, Role, Unit
from casework.status import TRANSITIONS, Channel, IncidentStatus
from console import idle_poll
from console.auth import ConsoleUser, me, requires
from media.storage import storage
from supervision import board

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
QUEUE_FILTERS = ("status", "category", "channel", "unit", "q", "warning")
WARNING_FILTERS = ("any", "blue", "yellow", "red")
QUEUE_REFRESH_SECONDS = idle_poll.REFRESH_SECONDS  # an unchanged queue is sent again this often all the same
QUEUE_TOP = idle_poll.QUEUE_TOP  # in the session: the unit whose change mark the open queue watches

csrf = CSRFProtect()


@bp.before_request
def check_csrf() -> None:
    """Every form the console accepts carries its CSRF token (GET and HEAD are not checked)."""
    csrf.protect()


HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


@bp.after_request
def headers(response):
    response.headers.update(HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_context_processor
def console_names() -> dict:
    return {"roles": Role, "colour_path": words.colour_path}


@bp.app_template_filter("age")
def age(moment: datetime) -> str:
    """How long ago, in the words a dispatcher reads at a glance."""
    seconds = max(0, int((clock.now() - moment).total_seconds()))
    if seconds < 60:
        return "不到1分钟"  # the same words as the page's own ticking (static/queue.js)
    if seconds < 3600:
        return f"{seconds // 60}分钟"
    if seconds < 86400:
        return f"{seconds // 3600}小时"
    return f"{seconds // 86400}天"


@bp.app_template_filter("word")
def word(code: str | None, table: str) -> str:
    """An internal code in the words an officer reads (one table for the whole console: `casework.words`)."""
    return words.word(table, code)


@bp.app_template_filter("beijing")
def beijing(moment: datetime | None) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


# -- signing in -----------------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("console.queue"))
        return render_template("console/login.html")
    badge_no = request.form.get("badge_no", "")
    try:
        officer = officers.authenticate(
            badge_no=badge_no, password=request.form.get("password", ""), address=request.remote_addr or ""
        )
    except officers.LockedOut as refused:
        return render_template("console/login.html", error=refused.message, badge_no=badge_no), 429
    except officers.LoginRefused as refused:
        return render_template("console/login.html", error=refused.message, badge_no=badge_no), 401
    login_user(ConsoleUser(officer))
    return redirect(url_for("console.queue"))


@bp.post("/logout")
@requires()
def logout():
    officers.log_out(officer=me())
    logout_user()
    flash("您已退出登录")
    return redirect(url_for("console.login"))


# -- the live queue -------------------------------------------------------------------------------------------


def _filters() -> dict:
    args = request.args
    number = lambda name: int(args[name]) if args.get(name, "").isdigit() else None  # noqa: E731
    return {
        "status": args.get("status") if args.get("status") in {s.value for s in IncidentStatus} else None,
        "category_id": number("category"),
        "channel": args.get("channel") if args.get("channel") in {c.value for c in Channel} else None,
        "unit_id": number("unit"),
        "search": args.get("q", "")[:64] or None,
        "among": (
            board.incidents_warned(None if args["warning"] == "any" else args["warning"])
            if args.get("warning") in WARNING_FILTERS
            else None
        ),
    }


def _version(top: int | None, offset: int) -> str:
    """The version of the queue's rows (`console.idle_poll.version`) for the officer's scope."""
    return idle_poll.version(queue_marks.mark(top), offset)


def _offset() -> int:
    """The console's offset in the refresh period: chosen when the page is rendered, then carried by its polls."""
    given = idle_poll.offset_of(request.args.get("o", ""))
    return given if given is not None else secrets.randbelow(QUEUE_REFRESH_SECONDS)


def _poll_url(version: str, offset: int) -> str:
    """The rows' own URL with the page's filters, the console's offset and the version the rows were rendered at."""
    chosen = {name: request.args[name] for name in QUEUE_FILTERS if request.args.get(name)}
    return url_for("console.queue_rows", **chosen, o=offset, v=version)


@bp.get("/")
@requires()
def queue():
    officer = me()
    offset, top = _offset(), queue_marks.top_of(officer)
    version = _version(top, offset)  # before the rows: a change committed after this is a newer version
    rows = queries.queue(officer, **_filters())
    session[QUEUE_TOP] = top
    return render_template(
        "console/queue.html",
        rows=rows,
        warned=board.open_colours([i.id for i in rows]),
        args={name: request.args.get(name, "") for name in QUEUE_FILTERS},
        statuses=list(IncidentStatus),
        channels=list(Channel),
        categories=db.session.scalars(select(Category).where(Category.active).order_by(Category.code)).all(),
        units=db.session.scalars(select(Unit).where(scope_of(officer).clause(Unit.id)).order_by(Unit.code)).all(),
        poll_url=_poll_url(version, offset),
        rendered_at=int(clock.now().timestamp()),
    )


@bp.get("/queue/rows")
def queue_rows():
    """The queue's rows alone, polled every 2 s by the page.

    While the version the page holds is still current the answer is 204 (nothing to swap), decided from the
    signed session cookie and one store read before the officer is loaded: an idle console never touches the
    database. A 204 carries nothing, so it is given before the full checks; anything else goes through them.
    Such polls are normally answered before Flask (`console.idle_poll`); this is the same decision for a poll
    that got here all the same (the mark moved between the two reads, say)."""
    if idle_poll.unchanged(session, request.args, queue_marks.mark):
        return "", 204
    return _fresh_rows()


@requires()
def _fresh_rows():
    officer = me()
    offset, top = _offset(), queue_marks.top_of(officer)
    version = _version(top, offset)
    rows = queries.queue(officer, **_filters())
    if session.get(QUEUE_TOP) != top:
        session[QUEUE_TOP] = top  # the officer's scope changed since the page was rendered
    return render_template(
        "console/_rows.html",
        rows=rows,
        warned=board.open_colours([i.id for i in rows]),
        poll_url=_poll_url(version, offset),
        rendered_at=int(clock.now().timestamp()),
    )


# -- the case page --------------------------------------------------------------------------------------------


@bp.get("/incidents/<int:incident_id>")
@requires()
def incident(incident_id: int):
    return _case_page(queries.incident_for(me(), incident_id=incident_id))


@bp.post("/incidents/<int:incident_id>/reveal")
@requires()
def reveal(incident_id: int):
    """The reporter's personal data in full, on this answer only (never kept in the session), audited."""
    officer = me()
    record = queries.incident_for(officer, incident_id=incident_id)
    try:
        revealed = viewing.reveal_reporter(officer=officer, incident=record, reason=request.form.get("reason", ""))
    except DomainError as refused:
        flash(refused.message, "error")
        return redirect(url_for("console.incident", incident_id=incident_id))
    return _case_page(record, revealed=revealed)


def _case_page(record, revealed=None):
    officer = me()
    return render_template(
        "console/incident.html",
        incident=record,
        case=case_file.of(record),
        revealed=revealed,
        intelligence=queries.intelligence(record, officer=officer),
        citizen_phone=privacy.mask_phone(record.citizen.phone),
        citizen_name=privacy.mask_name(record.citizen.real_name),
        citizen_id_number=privacy.mask_id_number(record.citizen.id_number),
        next_steps=sorted(TRANSITIONS[record.state]),
        complaints=[
            (c, officer.has_role(Role.SUPERVISOR) and scope_of(officer).covers(c.investigating_unit_id))
            for c in complaints.of_incident(record)
        ],
        messages=chat.messages(incident=record, viewer=officer, limit=500),
        category_tree=categories.tree(),
        units=_units(officer),
        officers=db.session.scalars(
            select(Officer).where(Officer.active, scope_of(officer).clause(Officer.unit_id)).order_by(Officer.badge_no)
        ).all(),
    )


def _units(officer) -> list[Unit]:
    return db.session.scalars(select(Unit).where(scope_of(officer).clause(Unit.id)).order_by(Unit.code)).all()


def _chosen(model, field: str):
    """The record a form's select named, or None when none was chosen (an unknown id: none either)."""
    value = request.form.get(field, "")
    return db.session.get(model, int(value)) if value.isdigit() else None


@bp.post("/incidents/<int:incident_id>/note")
@requires()
def note(incident_id: int):
    officer = me()
    record = queries.incident_for(officer, incident_id=incident_id)
    _act(
        lambda: dispatch.add_internal_note(incident=record, actor=officer, note=request.form.get("note", "")),
        "已添加备注",
    )
    return redirect(url_for("console.incident", incident_id=incident_id))


@bp.post("/incidents/<int:incident_id>/category")
@requires()
def recategorise(incident_id: int):
    officer = me()
    record = queries.incident_for(officer, incident_id=incident_id)
    category = _chosen(Category, "category")
    if category is None:
        flash("请选择类别", "error")
    else:
        _act(
            lambda: incidents.recategorise(
                incident=record, actor=officer, category=category, reason=request.form.get("reason", "")
            ),
            "已调整类别",
        )
    return redirect(url_for("console.incident", incident_id=incident_id))


@bp.post("/incidents/<int:incident_id>/assign")
@requires()
def assign(incident_id: int):
    officer = me()
    record = queries.incident_for(officer, incident_id=incident_id)
    _act(
        lambda: dispatch.assign(
            incident=record,
            actor=officer,
            unit=_chosen(Unit, "unit"),
            officer=_chosen(Officer, "officer"),
            reason=request.form.get("reason"),
        ),
        "已指派",
    )
    return redirect(url_for("console.incident", incident_id=incident_id))


@bp.route("/phone-in", methods=["GET", "POST"])
@requires(Role.DISPATCHER)
def phone_in():
    """A report taken on the telephone, typed by the dispatcher."""
    officer = me()
    if request.method == "POST":
        try:
            record = dispatch.report_by_phone(
                dispatcher=officer,
                phone=request.form.get("phone", ""),
                description=request.form.get("description", ""),
                address=request.form.get("address") or None,
                category=_chosen(Category, "category"),
                unit=_chosen(Unit, "unit"),
            )
        except DomainError as refused:
            flash(refused.message, "error")
        else:
            flash(f"已登记警情 {record.number}")
            return redirect(url_for("console.incident", incident_id=record.id))
    return render_template(
        "console/phone_in.html", category_tree=categories.tree(), units=_units(officer), form=request.form
    ), (400 if request.method == "POST" else 200)


@bp.post("/incidents/<int:incident_id>/status")
@requires()
def change_status(incident_id: int):
    officer = me()
    record = queries.incident_for(officer, incident_id=incident_id)
    try:
        target = IncidentStatus(request.form.get("status", ""))
    except ValueError:
        flash("请选择下一步", "error")
    else:
        _act(
            lambda: incidents.change_status(
                incident=record,
                actor=officer,
                status=target,
                public_note=request.form.get("public_note") or None,
                internal_note=request.form.get("internal_note") or None,
            ),
            f"已更新为「{target.label}」",
        )
    return redirect(url_for("console.incident", incident_id=incident_id))


@bp.post("/incidents/<int:incident_id>/reply")
@requires()
def reply(incident_id: int):
    officer = me()
    record = queries.incident_for(officer, incident_id=incident_id)
    _act(lambda: chat.add_message(incident=record, actor=officer, body=request.form.get("body", "")), "已发送")
    return redirect(url_for("console.incident", incident_id=incident_id) + "#chat")


def _act(action, done: str) -> None:
    """Run one use case; its refusal is shown on the page it came from (it changed nothing)."""
    try:
        action()
    except DomainError as refused:
        flash(refused.message, "error")
    else:
        flash(done)


@bp.get("/attachments/<int:attachment_id>")
@requires()
def attachment(attachment_id: int):
    """The evidence file, with range requests (206) so that a video seeks; a view from the start is audited, the
    player's follow-up ranges of the same view are not."""
    officer = me()
    header = request.headers.get("Range", "")
    first_view = not header or header.replace(" ", "").startswith("bytes=0-")
    if first_view:
        record = viewing.view_evidence(officer=officer, attachment_id=attachment_id)
    else:
        record = viewing.evidence_for(officer=officer, attachment_id=attachment_id)
    response = send_file(
        storage().path(record.storage_key),
        mimetype=record.content_type or "application/octet-stream",
        conditional=True,
        etag=record.sha256 or True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- the complaint inbox --------------------------------------------------------------------------------------


@bp.get("/complaints")
@requires()
def complaints_inbox():
    return render_template("console/complaints.html", complaints=complaint_inbox.inbox(me()))


@bp.post("/complaints/<int:complaint_id>/explanation")
@requires(*complaint_inbox.EXPLAINING_ROLES)
def explain(complaint_id: int):
    officer = me()
    complaint = complaints.complaint_for(officer, complaint_id)
    _act(
        lambda: complaint_inbox.explain(
            complaint=complaint, officer=officer, explanation=request.form.get("explanation", "")
        ),
        "已提交情况说明",
    )
    return redirect(url_for("console.complaints_inbox"))
