"""The maintained list of case causes (案由): a table that admins keep (add, rename, deactivate, and delete one no
case has ever named), seeded from `casework/seed/case_causes.json` by the migration and by `flask seed` /
`flask demo` (which add the file's new causes and never touch an admin's changes).

The list is small, so it is read from the table each time: an admin's change is seen at once by every process.
"""

import json
import re
from datetime import datetime
from pathlib import Path

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from casework import audit, clock, text
from casework.access import require_officer
from casework.db import db
from casework.errors import Conflict, InvalidInput, NotFound
from casework.events import Event, publish
from casework.models import Case, CaseCause, CaseType, CauseChange, Officer, Role
from casework.unit_of_work import use_case

CAUSES_FILE = Path(__file__).with_name("seed") / "case_causes.json"
CODE = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
NAME_LIMIT = 64


def listing() -> list[CaseCause]:
    """Every cause, active or not, in the list's order."""
    ensure_seeded()
    return list(db.session.scalars(select(CaseCause).order_by(CaseCause.position, CaseCause.id)))


def all_causes() -> dict[str, CaseCause]:
    """Every cause by code, in the list's order."""
    return {cause.code: cause for cause in listing()}


def of_type(case_type: str) -> list[CaseCause]:
    """The active causes a case of `case_type` may be given."""
    return [c for c in listing() if c.active and c.case_type == case_type]


def find(code: str | None) -> CaseCause | None:
    if not code:
        return None
    query = select(CaseCause).where(CaseCause.code == code.strip().upper())
    found = db.session.scalar(query)
    if found is None:
        ensure_seeded()
        found = db.session.scalar(query)
    return found


def name(code: str | None) -> str:
    """The cause's name for display (an unknown code shows as itself)."""
    if code is None:
        return "未定案由"
    cause = find(code)
    return cause.name if cause else code


def checked(code: str, case_type: str) -> CaseCause:
    """The active cause `code` for a case of `case_type`; InvalidInput for anything else."""
    cause = find(code)
    if cause is None or not cause.active:
        raise InvalidInput("案由不在案由目录中")
    if cause.case_type != case_type:
        raise InvalidInput("案由与案件类型不符")
    return cause


# -- the seed -------------------------------------------------------------------------------------------------


def seed_rows(path: Path = CAUSES_FILE) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["causes"]


def load_seed(path: Path = CAUSES_FILE, *, now: datetime | None = None) -> int:
    """Add the file's causes the table lacks (in the current transaction); returns how many were added. A cause
    already in the table keeps its name and state, whatever the file says (an admin may have changed it).

    INSERT ... ON CONFLICT DO NOTHING, so two processes seeding at once add each cause once."""
    now = now or clock.now()
    present = set(db.session.scalars(select(CaseCause.code)))
    last = db.session.scalar(select(func.max(CaseCause.position))) or 0
    missing = []
    for row in seed_rows(path):
        if row["code"] in present:
            continue
        last += 1
        missing.append(
            {
                "code": row["code"],
                "name": row["name"],
                "case_type": row["type"],
                "active": bool(row.get("active", True)),
                "position": last,
                "updated_at": now,
            }
        )
    if not missing:
        return 0
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(CaseCause)
        .values(missing)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(CaseCause.id)  # what was really inserted (rowcount is not reliable here on every driver)
    )
    return len(db.session.execute(statement).all())


def ensure_seeded() -> None:
    """An empty list (an emptied database, a schema built without the migration's rows) is filled from the file."""
    if db.session.scalar(select(CaseCause.id).limit(1)) is None:
        load_seed()


# -- administration -------------------------------------------------------------------------------------------


def _code(value) -> str:
    code = (value or "").strip().upper() if isinstance(value, str) else ""
    if not CODE.fullmatch(code):
        raise InvalidInput("案由代码须为大写字母开头的2到16位字母或数字,如 X0120")
    return code


def _name(value) -> str:
    return text.clean(value, missing="请填写案由名称", limit=NAME_LIMIT, what="案由名称")


def _case_type(value) -> str:
    try:
        return CaseType(value).value
    except ValueError:
        raise InvalidInput("请选择案件类型(刑事或治安)") from None


def _same_name(name: str, case_type: str, *, other_than: int | None = None) -> bool:
    query = select(CaseCause.id).where(CaseCause.name == name, CaseCause.case_type == case_type)
    if other_than is not None:
        query = query.where(CaseCause.id != other_than)
    return db.session.scalar(query.limit(1)) is not None


def cause_for(code: str) -> CaseCause:
    cause = find(code)
    if cause is None:
        raise NotFound("未找到该案由")
    return cause


def in_use(cause: CaseCause) -> bool:
    """Whether a case names the cause now or ever did (its history)."""
    return bool(
        db.session.scalar(select(exists().where(Case.cause_code == cause.code)))
        or db.session.scalar(
            select(exists().where(or_(CauseChange.from_code == cause.code, CauseChange.to_code == cause.code)))
        )
    )


def used_codes() -> set[str]:
    """The codes a case names now or ever named (for the admin list: those cannot be deleted)."""
    now_named = db.session.scalars(select(Case.cause_code).where(Case.cause_code.is_not(None)).distinct())
    from_codes = db.session.scalars(select(CauseChange.from_code).where(CauseChange.from_code.is_not(None)).distinct())
    to_codes = db.session.scalars(select(CauseChange.to_code).where(CauseChange.to_code.is_not(None)).distinct())
    return {*now_named, *from_codes, *to_codes}


@use_case
def add(*, actor: Officer, code: str, name: str, case_type: str, now: datetime | None = None) -> CaseCause:
    """An admin adds a cause to the list (active, at its end)."""
    require_officer(actor, Role.ADMIN)
    ensure_seeded()
    code, name, case_type = _code(code), _name(name), _case_type(case_type)
    if find(code) is not None:
        raise Conflict(f"案由代码 {code} 已存在")
    if _same_name(name, case_type):
        raise Conflict(f"已有同名案由「{name}」")
    now = now or clock.now()
    last = db.session.scalar(select(func.max(CaseCause.position))) or 0
    cause = CaseCause(code=code, name=name, case_type=case_type, active=True, position=last + 1, updated_at=now)
    db.session.add(cause)
    db.session.flush()
    audit.record(
        actor=actor, action="cause.added", subject=cause, at=now, detail={"code": code, "name": name, "type": case_type}
    )
    publish(Event.CAUSE_LIST_CHANGED, cause_id=cause.id)
    return cause


@use_case
def rename(*, actor: Officer, cause: CaseCause, name: str, now: datetime | None = None) -> CaseCause:
    """An admin renames a cause (its code, which cases keep, stays)."""
    require_officer(actor, Role.ADMIN)
    name = _name(name)
    if name == cause.name:
        raise Conflict("案由名称未变化")
    if _same_name(name, cause.case_type, other_than=cause.id):
        raise Conflict(f"已有同名案由「{name}」")
    now = now or clock.now()
    before = cause.name
    cause.name, cause.updated_at = name, now
    detail = {"code": cause.code, "from": before, "to": name}
    audit.record(actor=actor, action="cause.renamed", subject=cause, at=now, detail=detail)
    publish(Event.CAUSE_LIST_CHANGED, cause_id=cause.id)
    return cause


@use_case
def set_active(*, actor: Officer, cause: CaseCause, active: bool, now: datetime | None = None) -> CaseCause:
    """An admin stops offering a cause (cases that name it keep it) or offers it again."""
    require_officer(actor, Role.ADMIN)
    active = bool(active)
    if cause.active == active:
        raise Conflict("案由已启用" if active else "案由已停用")
    now = now or clock.now()
    cause.active, cause.updated_at = active, now
    audit.record(
        actor=actor,
        action="cause.activated" if active else "cause.deactivated",
        subject=cause,
        at=now,
        detail={"code": cause.code, "name": cause.name},
    )
    publish(Event.CAUSE_LIST_CHANGED, cause_id=cause.id)
    return cause


@use_case
def delete(*, actor: Officer, cause: CaseCause, now: datetime | None = None) -> None:
    """An admin deletes a cause added by mistake; one that a case names, or ever named, is refused (deactivate it)."""
    require_officer(actor, Role.ADMIN)
    if in_use(cause):
        raise Conflict(f"案由「{cause.name}」已被案件使用,不能删除,只能停用")
    now = now or clock.now()
    audit.record(
        actor=actor,
        action="cause.deleted",
        subject=cause,
        at=now,
        detail={"code": cause.code, "name": cause.name, "type": cause.case_type},
    )
    publish(Event.CAUSE_LIST_CHANGED, cause_id=cause.id)
    db.session.delete(cause)
