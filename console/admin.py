"""Admin pages of the console: officers (create, reset password, roles, WeChat binding, deactivate). Admins only:
any other role gets 403, and an officer outside the admin's scope answers 404."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from casework import officers
from casework.access import scope_of
from casework.db import db
from casework.errors import DomainError
from casework.models import Officer, Role, Unit
from console.auth import me, requires
from console.views import csrf, headers

bp = Blueprint("admin", __name__, url_prefix="/console/admin")
bp.after_request(headers)


@bp.before_request
def check_csrf() -> None:
    csrf.protect()


def done(action, message: str) -> None:
    try:
        action()
    except DomainError as refused:
        flash(refused.message, "error")
    else:
        flash(message)


def _officer(officer_id: int) -> Officer | None:
    return db.session.get(Officer, officer_id)


@bp.get("/officers")
@requires(Role.ADMIN)
def officer_list():
    admin = me()
    scope = scope_of(admin)
    return render_template(
        "console/admin_officers.html",
        officers=db.session.scalars(
            select(Officer).where(scope.clause(Officer.unit_id)).order_by(Officer.badge_no)
        ).all(),
        units=db.session.scalars(select(Unit).where(scope.clause(Unit.id)).order_by(Unit.code)).all(),
        all_roles=list(Role),
    )


@bp.post("/officers")
@requires(Role.ADMIN)
def create():
    unit_id = request.form.get("unit", "")
    done(
        lambda: officers.create_officer(
            actor=me(),
            badge_no=request.form.get("badge_no", ""),
            name=request.form.get("name", ""),
            unit=db.session.get(Unit, int(unit_id)) if unit_id.isdigit() else None,
            roles=request.form.getlist("roles"),
            password=request.form.get("password", ""),
        ),
        "已创建民警账号",
    )
    return redirect(url_for("admin.officer_list"))


@bp.post("/officers/<int:officer_id>/password")
@requires(Role.ADMIN)
def reset_password(officer_id: int):
    done(
        lambda: officers.reset_password(
            actor=me(), officer=_officer(officer_id), password=request.form.get("password", "")
        ),
        "已重置密码",
    )
    return redirect(url_for("admin.officer_list"))


@bp.post("/officers/<int:officer_id>/roles")
@requires(Role.ADMIN)
def set_roles(officer_id: int):
    done(
        lambda: officers.set_roles(actor=me(), officer=_officer(officer_id), roles=request.form.getlist("roles")),
        "已更新角色",
    )
    return redirect(url_for("admin.officer_list"))


@bp.post("/officers/<int:officer_id>/wechat")
@requires(Role.ADMIN)
def bind_wechat(officer_id: int):
    openid = request.form.get("openid", "")
    done(
        lambda: officers.bind_wechat(actor=me(), officer=_officer(officer_id), openid=openid),
        "已绑定微信" if openid.strip() else "已解除微信绑定",
    )
    return redirect(url_for("admin.officer_list"))


@bp.post("/officers/<int:officer_id>/deactivate")
@requires(Role.ADMIN)
def deactivate(officer_id: int):
    done(lambda: officers.deactivate(actor=me(), officer=_officer(officer_id)), "已停用")
    return redirect(url_for("admin.officer_list"))
