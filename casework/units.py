"""The police organisation tree as administrators manage it: list it, add a unit below one's own, rename one.

A unit's level follows from its parent's (province > city > county > station): a station has no units below it.
An administrator manages only the units in their scope (`casework.access`); another unit answers as a missing
one. A unit is never deleted or moved: incidents, doorplates and officers point at it.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from casework import audit, clock, events
from casework.access import not_found, require_officer, scope_of
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.events import Event
from casework.models import LEVEL_ORDER, Officer, Role, Unit, UnitLevel
from casework.text import clean
from casework.unit_of_work import use_case

CODE_PATTERN = re.compile(r"^[0-9]{6,12}$")
NAME_LIMIT = 128


@dataclass(frozen=True)
class TreeRow:
    """One unit of the tree in display order, with its depth below the top of the officer's scope."""

    unit: Unit
    depth: int


def tree(officer: Officer) -> list[TreeRow]:
    """The units in `officer`'s scope as a tree (depth-first, children in code order)."""
    require_officer(officer)
    scope = scope_of(officer)
    units = db.session.scalars(select(Unit).where(scope.clause(Unit.id)).order_by(Unit.code)).all()
    ids = {unit.id for unit in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)
    rows: list[TreeRow] = []
    todo = [(unit, 0) for unit in reversed(children.get(None, []))]
    while todo:
        unit, depth = todo.pop()
        rows.append(TreeRow(unit, depth))
        todo.extend((child, depth + 1) for child in reversed(children.get(unit.id, [])))
    return rows


def child_level(parent: Unit) -> UnitLevel | None:
    """The level of a unit created under `parent` (None: a station has no units below it)."""
    index = LEVEL_ORDER.index(UnitLevel(parent.level))
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def _managed(actor: Officer, unit: Unit | None) -> Unit:
    require_officer(actor, Role.ADMIN)
    if unit is None or not scope_of(actor).covers(unit.id):
        raise not_found(Unit)
    return unit


@use_case
def create(*, actor: Officer, parent: Unit | None, code: str, name: str, now: datetime | None = None) -> Unit:
    """Add a unit directly below `parent` (a unit in the administrator's scope); its level is the next one down."""
    parent = _managed(actor, parent)
    level = child_level(parent)
    if level is None:
        raise InvalidInput("派出所下不能再设单位")
    code = (code or "").strip() if isinstance(code, str) else ""
    if not CODE_PATTERN.match(code):
        raise InvalidInput("单位代码应为6至12位数字")
    if db.session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise Conflict(f"单位代码 {code} 已存在")
    unit = Unit(code=code, name=clean(name, missing="请填写单位名称", limit=NAME_LIMIT, what="单位名称"))
    unit.level, unit.parent = level.value, parent
    db.session.add(unit)
    db.session.flush()
    audit.record(
        actor=actor,
        action="unit.created",
        subject=unit,
        at=now or clock.now(),
        detail={"code": code, "name": unit.name, "level": unit.level, "parent": parent.code},
    )
    events.publish(Event.UNIT_CHANGED, unit_id=unit.id)
    return unit


@use_case
def rename(*, actor: Officer, unit: Unit | None, name: str, now: datetime | None = None) -> Unit:
    """Give a unit in the administrator's scope a new name (its code, the key other systems know it by, stays)."""
    unit = _managed(actor, unit)
    name = clean(name, missing="请填写单位名称", limit=NAME_LIMIT, what="单位名称")
    if name == unit.name:
        return unit  # saved unchanged: nothing to record
    before, unit.name = unit.name, name
    audit.record(
        actor=actor,
        action="unit.renamed",
        subject=unit,
        at=now or clock.now(),
        detail={"code": unit.code, "before": before, "after": name},
    )
    events.publish(Event.UNIT_CHANGED, unit_id=unit.id)
    return unit
