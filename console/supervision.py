"""The console's supervision pages: the board (scoped to the viewer's level), warnings and their rectification
form, the officer's notices (the header badge), the CSV export, and the monitoring points (admins).

Each route translates a form or a link into one supervision call, like the rest of the console.
"""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from casework import clock
from casework.errors import DomainError
from casework.models import Role
from console.auth import me, requires
from console.views import csrf, headers
from supervision import board, evaluation_clocks, notify, points, provisional, warnings
from supervision.models import Colour, DeadlineClock, SubjectType, Warning

bp = Blueprint("supervision", __name__, url_prefix="/console/supervision")
bp.after_request(headers)

BOARD_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.ADMIN)


@bp.before_request
def check_csrf() -> None:
    csrf.protect()


@bp.app_context_processor
def supervision_badge() -> dict:
    """The unread-notices badge in the console header, the 「暂定」 mark beside a provisional deadline, and for
    administrators the banner that asks for a year's holiday notice."""
    if not request.path.startswith("/console") or not current_user.is_authenticated:
        return {}
    officer = me()
    pending = board.pending_calendar_years(now=clock.now()) if officer.has_role(Role.ADMIN) else []
    return {
        "supervision_unread": notify.unread_count(officer),
        "colours": Colour,
        "tentative": tentative,
        "calendar_pending": pending,
    }


TENTATIVE = Markup(
    '<span class="provisional" title="期限跨入尚未公布节假日安排的年份,按法定节假日暂定计算,公布后可能调整">暂定</span>'
)


def tentative(subject, field: str | None = None) -> Markup:
    """「暂定」 beside a deadline that rests on a provisional holiday year: a clock, a warning (its clock's), or a
    deadline column of a row (`field`)."""
    if isinstance(subject, Warning):
        subject = subject.clock
    if isinstance(subject, DeadlineClock):
        return TENTATIVE if subject.provisional else Markup("")
    return TENTATIVE if field and field in provisional.provisional_fields(subject) else Markup("")


def _filters() -> board.Filters:
    args = request.args
    colour = args.get("colour") if args.get("colour") in {c.value for c in Colour} else None
    return board.Filters(
        colour=colour,
        unit_code=(args.get("unit") or None),
        point_code=(args.get("point") or None),
        open_only=args.get("open") == "1",
    )


@bp.get("/board")
@requires(*BOARD_ROLES)
def board_page():
    viewer = me()
    figures = board.board(viewer)
    return render_template(
        "console/supervision_board.html",
        figures=figures,
        trend=json.dumps({"days": figures.trend_days, "counts": figures.trend}),
        colours=list(Colour),
        subject_types=SubjectType,
        point_names=points.names(),
    )


@bp.get("/board.csv")
@requires(*BOARD_ROLES)
def export_csv():
    rows = board.listing(me(), _filters(), limit=100_000)
    response = Response(board.csv_export(rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = "attachment; filename=warnings.csv"
    return response


@bp.get("/warnings")
@requires()
def warning_list():
    viewer = me()
    filters = _filters()
    notices = notify.of_officer(viewer, limit=50)
    notify.mark_read(viewer)
    return render_template(
        "console/supervision_warnings.html",
        warnings=board.listing(viewer, filters, limit=500),
        notices=notices,
        filters=filters,
        colours=list(Colour),
        points=sorted(points.all_points().values(), key=lambda p: p.code),
        subject_types=SubjectType,
    )


@bp.get("/warnings/<int:warning_id>")
@requires()
def warning_page(warning_id: int):
    warning = warnings.warning_for(me(), warning_id)
    return render_template(
        "console/supervision_warning.html",
        warning=warning,
        colour=Colour(warning.colour),
        subject_types=SubjectType,
        evaluation_plan_id=evaluation_clocks.plan_id_of(warning.subject_type, warning.subject_id),
        viewer_id=me().id,
    )


@bp.post("/warnings/<int:warning_id>/rectification")
@requires(*warnings.RECTIFYING_ROLES)
def rectify(warning_id: int):
    officer = me()
    warning = warnings.warning_for(officer, warning_id)
    try:
        warnings.rectify(warning=warning, officer=officer, text=request.form.get("rectification", ""))
    except DomainError as refused:
        flash(refused.message, "error")
    else:
        flash("已提交整改情况,系统将在下次巡查时自动核验是否整改到位")
    return redirect(url_for("supervision.warning_page", warning_id=warning_id))


@bp.get("/points")
@requires(Role.ADMIN)
def point_list():
    return render_template(
        "console/supervision_points.html", points=sorted(points.all_points().values(), key=lambda p: p.code)
    )


@bp.post("/points/<code>")
@requires(Role.ADMIN)
def update_point(code: str):
    found = points.all_points().get(code)
    if found is None:
        abort(404)
    parameters = {
        key: request.form[f"p_{key}"]
        for key in found.parameters
        if f"p_{key}" in request.form and key != "category_key"
    }
    if "working" in found.parameters:
        parameters["working"] = request.form.get("p_working") == "on"
    try:
        points.update(actor=me(), code=code, enabled=request.form.get("enabled") == "on", parameters=parameters)
    except DomainError as refused:
        flash(refused.message, "error")
    else:
        flash(f"已更新监测点「{found.name}」")
    return redirect(url_for("supervision.point_list"))
