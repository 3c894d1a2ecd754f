"""Admin pages of the console for the doorplate registry: search it, import a CSV (the same checks as
`flask doorplates import`: every line checked, errors named by line, all or nothing), print a label sheet,
revoke a code, move a doorplate to its successor. Admins only (403 otherwise); another unit's doorplate answers
404. Printing is qr's: the wiring hands the console the sheet and the label-font check (`init_app`)."""

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from casework import doorplate_import, doorplates
from casework.errors import DomainError
from casework.models import Role
from casework.unit_of_work import transaction
from console.admin import done
from console.auth import me, requires
from console.views import csrf, headers

bp = Blueprint("admin_doorplates", __name__, url_prefix="/console/admin/doorplates")
bp.after_request(headers)

PRINTING = "wx110.console.doorplate_printing"
MAX_CSV_BYTES = 20 * 1024 * 1024


@bp.before_request
def check_csrf() -> None:
    csrf.protect()


def _printing():
    return current_app.extensions[PRINTING]


@bp.get("/")
@requires(Role.ADMIN)
def doorplate_list(refused: doorplate_import.ImportRefused | None = None, status: int = 200):
    search = request.args.get("q", "")
    return render_template(
        "console/admin_doorplates.html",
        doorplates=doorplates.listing(me(), search=search),
        search=search,
        refused=refused,
    ), status


@bp.post("/import")
@requires(Role.ADMIN)
def import_csv():
    upload = request.files.get("file")
    data = upload.read(MAX_CSV_BYTES + 1) if upload else b""
    if not data:
        flash("请选择要导入的CSV文件", "error")
        return redirect(url_for("admin_doorplates.doorplate_list"))
    if len(data) > MAX_CSV_BYTES:
        flash("文件过大(最多20MB)", "error")
        return redirect(url_for("admin_doorplates.doorplate_list"))
    try:
        with transaction():  # the import's one transaction: every line or none
            result = doorplate_import.import_csv(data, actor=me(), check=[_printing().import_check()])
    except doorplate_import.ImportRefused as refused:
        return doorplate_list(refused=refused, status=400)
    except DomainError as refused:
        flash(refused.message, "error")
    else:
        flash(f"导入完成：{result}")
    return redirect(url_for("admin_doorplates.doorplate_list"))


@bp.post("/sheet")
@requires(Role.ADMIN)
def sheet():
    """The label sheet (PDF) of the chosen active doorplates."""
    try:
        plates = [doorplates.managed(me(), code) for code in request.form.getlist("codes")]
    except DomainError as refused:
        flash(refused.message, "error")
        return redirect(url_for("admin_doorplates.doorplate_list"))
    plates = [plate for plate in plates if plate.is_active]
    if not plates:
        flash("请选择要打印的有效门牌", "error")
        return redirect(url_for("admin_doorplates.doorplate_list"))
    pdf = _printing().sheet(plates)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="doorplates.pdf"', "Cache-Control": "no-store"},
    )


@bp.post("/<code>/revoke")
@requires(Role.ADMIN)
def revoke(code: str):
    plate = doorplates.managed(me(), code)
    done(
        lambda: doorplates.revoke(doorplate=plate, actor=me(), reason=request.form.get("reason", "")),
        f"门牌 {code} 已停用",
    )
    return redirect(url_for("admin_doorplates.doorplate_list", q=code))


@bp.post("/<code>/move")
@requires(Role.ADMIN)
def move(code: str):
    plate = doorplates.managed(me(), code)

    def moved():
        to = doorplates.managed(me(), request.form.get("to", ""))
        doorplates.move(doorplate=plate, to=to, actor=me(), reason=request.form.get("reason", ""))

    done(moved, f"门牌 {code} 已迁移")
    return redirect(url_for("admin_doorplates.doorplate_list", q=code))
