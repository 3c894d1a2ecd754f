"""Admin pages of the console for the reference data: the unit tree (add a unit below one's own, rename one), the
警情类别 taxonomy (guide, equipment checklist, legal references) and the list of case causes (案由: add, rename,
deactivate, delete one no case ever named). Admins only: any other role gets 403; a unit outside the admin's scope
answers 404. Every change is one casework use case, audited there."""

from flask import Blueprint, abort, redirect, render_template, request, url_for

from casework import categories, causes, units
from casework.access import scope_of
from casework.db import db
from casework.errors import NotFound
from casework.models import CaseType, Role, Unit
from console.admin import done
from console.auth import me, requires
from console.views import csrf, headers

bp = Blueprint("admin_reference", __name__, url_prefix="/console/admin")
bp.after_request(headers)


@bp.before_request
def check_csrf() -> None:
    csrf.protect()


# -- units ----------------------------------------------------------------------------------------------------


@bp.get("/units")
@requires(Role.ADMIN)
def unit_list():
    return render_template("console/admin_units.html", rows=units.tree(me()), child_level=units.child_level)


def _unit(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None or not scope_of(me()).covers(unit.id):
        abort(404)
    return unit


@bp.post("/units/<int:unit_id>/children")
@requires(Role.ADMIN)
def create_unit(unit_id: int):
    parent = _unit(unit_id)
    done(
        lambda: units.create(
            actor=me(), parent=parent, code=request.form.get("code", ""), name=request.form.get("name", "")
        ),
        "已新建单位",
    )
    return redirect(url_for("admin_reference.unit_list"))


@bp.post("/units/<int:unit_id>/name")
@requires(Role.ADMIN)
def rename_unit(unit_id: int):
    unit = _unit(unit_id)
    done(lambda: units.rename(actor=me(), unit=unit, name=request.form.get("name", "")), "已更名")
    return redirect(url_for("admin_reference.unit_list"))


# -- categories -----------------------------------------------------------------------------------------------


@bp.get("/categories")
@requires(Role.ADMIN)
def category_list():
    return render_template("console/admin_categories.html", branches=categories.tree(include_inactive=True))


def _category(code: str):
    try:
        return categories.get(code)
    except NotFound:
        abort(404)


@bp.get("/categories/<code>")
@requires(Role.ADMIN)
def category(code: str):
    return render_template("console/admin_category.html", category=_category(code))


def _lines(field: str) -> list[str]:
    return [line.strip() for line in request.form.get(field, "").splitlines() if line.strip()]


@bp.post("/categories/<code>")
@requires(Role.ADMIN)
def update_category(code: str):
    category = _category(code)
    changes = {"name": request.form.get("name", ""), "active": request.form.get("active") == "on"}
    if category.parent_id is not None:  # a major type is a heading: its guidance lives in its sub-categories
        changes.update(
            guide=request.form.get("guide", ""), equipment=_lines("equipment"), legal_refs=_lines("legal_refs")
        )
    done(lambda: categories.update(category=category, actor=me(), **changes), "已保存")
    return redirect(url_for("admin_reference.category", code=code))


# -- case causes ----------------------------------------------------------------------------------------------


@bp.get("/causes")
@requires(Role.ADMIN)
def cause_list():
    return render_template(
        "console/admin_causes.html",
        causes=causes.listing(),
        used=causes.used_codes(),
        case_types=list(CaseType),
    )


def _cause(code: str):
    try:
        return causes.cause_for(code)
    except NotFound:
        abort(404)


@bp.post("/causes")
@requires(Role.ADMIN)
def add_cause():
    done(
        lambda: causes.add(
            actor=me(),
            code=request.form.get("code", ""),
            name=request.form.get("name", ""),
            case_type=request.form.get("case_type", ""),
        ),
        "已新增案由",
    )
    return redirect(url_for("admin_reference.cause_list"))


@bp.post("/causes/<code>/name")
@requires(Role.ADMIN)
def rename_cause(code: str):
    cause = _cause(code)
    done(lambda: causes.rename(actor=me(), cause=cause, name=request.form.get("name", "")), "已更名")
    return redirect(url_for("admin_reference.cause_list"))


@bp.post("/causes/<code>/active")
@requires(Role.ADMIN)
def set_cause_active(code: str):
    cause = _cause(code)
    active = request.form.get("active") == "1"
    done(lambda: causes.set_active(actor=me(), cause=cause, active=active), "已启用" if active else "已停用")
    return redirect(url_for("admin_reference.cause_list"))


@bp.post("/causes/<code>/delete")
@requires(Role.ADMIN)
def delete_cause(code: str):
    cause = _cause(code)
    done(lambda: causes.delete(actor=me(), cause=cause), "已删除")
    return redirect(url_for("admin_reference.cause_list"))
