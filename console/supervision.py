"""The console's supervision pages: the board (scoped to the viewer's level), warnings and their rectification
form, the officer's notices (the header badge), the CSV export, and the monitoring points (admins).

Each route translates a form or a link into one supervision call, like the rest of the console.
"""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from casework.errors import DomainError
from casework.models import Role
from console.auth import me, requires
from console.views import csrf, headers
from supervision import board, evaluation_clocks, notify, points, warnings
from supervision.models import Colour, SubjectType

bp = Blueprint("supervision", __name__, url_prefix="/console/supervision")
bp.after_request(headers)

BOARD_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.ADMIN)


@bp.before_request
def check_csrf() -> None:
    csrf.protect()


@bp.app_context_processor
def supervision_badge() -> dict:
    """The unread-notices badge in the console header."""
    if not request.path.startswith("/console") or not current_user.is_authenticated:
        return {}
    return {"supervision_unread": notify.unread_count(me()), "colours": Colour}


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
