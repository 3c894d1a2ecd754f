"""The 警情类别 taxonomy: the tree officers pick from, an admin's edits, and loading the reference file.

`casework/seed/categories.json` is the taxonomy every installation starts with; admins then adapt the texts to
local practice. Loading a newer file changes a field only where the database still holds what the file said
the last time (`Category.seeded`), so an admin's edit survives an upgrade. A category left out of the file is
deactivated, never deleted: incidents point at it.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from casework import audit, clock
from casework.access import require_officer
from casework.db import db
from casework.errors import InvalidInput, NotFound
from casework.events import Event, publish
from casework.models import Category, Officer, Role, System
from casework.text import clean
from casework.unit_of_work import use_case

EDITABLE = ("name", "guide", "equipment", "legal_refs", "active")
MAJOR_EDITABLE = ("name", "active")  # a major type is a heading: its guidance lives in its sub-categories
SEEDED = ("name", "parent", "case_type", "guide", "equipment", "legal_refs", "deadlines", "active")

NAME_LIMIT = 64
GUIDE_LIMIT = 4000
EQUIPMENT_LIMIT = 64
LEGAL_REF_LIMIT = 200
LIST_LIMIT = 40
MISSING = "未找到该警情类别"


@dataclass(frozen=True)
class Branch:
    """One major type and its sub-categories, in code order."""

    major: Category
    children: list[Category]


def tree(*, include_inactive: bool = False) -> list[Branch]:
    """The taxonomy for pickers (active categories only) or for the admin page (`include_inactive`)."""
    rows = db.session.scalars(select(Category).order_by(Category.code)).all()
    children: dict[int, list[Category]] = defaultdict(list)
    for row in rows:
        if row.parent_id is not None and (include_inactive or row.active):
            children[row.parent_id].append(row)
    return [
        Branch(major=row, children=children[row.id])
        for row in rows
        if row.parent_id is None and (include_inactive or row.active)
    ]


def get(code: str) -> Category:
    """The category with this code, active or not; NotFound otherwise."""
    category = db.session.scalar(select(Category).where(Category.code == code)) if isinstance(code, str) else None
    if category is None:
        raise NotFound(MISSING)
    return category


@use_case
def update(*, category: Category, actor: Officer, now: datetime | None = None, **changes) -> Category:
    """An admin changes a category's name, guide, equipment, legal references or whether it is offered."""
    require_officer(actor, Role.ADMIN)
    if not changes:
        raise InvalidInput("没有要修改的内容")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(f"不能修改这些字段:{'、'.join(unknown)}")
    if category.parent_id is None and set(changes) - set(MAJOR_EDITABLE):
        raise InvalidInput("大类只能修改名称和启用状态")
    values = {field: VALIDATORS[field](value) for field, value in changes.items()}
    before = {field: getattr(category, field) for field, value in values.items() if getattr(category, field) != value}
    if not before:
        return category  # the form was saved unchanged: nothing to record
    after = {field: values[field] for field in before}
    for field, value in after.items():
        setattr(category, field, value)
    audit.record(
        actor=actor,
        action="category.updated",
        subject=category,
        detail={"code": category.code, "before": before, "after": after},
        at=now or clock.now(),
    )
    publish(Event.CATEGORY_CHANGED, category_id=category.id)
    return category


def _name(value) -> str:
    return clean(value, missing="请填写类别名称", limit=NAME_LIMIT, what="类别名称")


def _guide(value) -> str:
    return clean(value, missing="请填写处置要点", limit=GUIDE_LIMIT, what="处置要点")


def _items(*, what: str, missing: str, limit: int) -> Callable[[object], list[str]]:
    def check(value) -> list[str]:
        if not isinstance(value, list | tuple):
            raise InvalidInput(f"{what}格式不正确")
        items = [clean(item, missing=f"{what}中有空白项", limit=limit, what=what) for item in value]
        if not items:
            raise InvalidInput(missing)
        if len(items) > LIST_LIMIT:
            raise InvalidInput(f"{what}过多(最多{LIST_LIMIT}项)")
        if len(set(items)) != len(items):
            raise InvalidInput(f"{what}中有重复项")
        return items

    return check


def _active(value) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("启用状态格式不正确")
    return value


VALIDATORS: dict[str, Callable[[object], object]] = {
    "name": _name,
    "guide": _guide,
    "equipment": _items(what="装备清单", missing="请至少列出一件装备", limit=EQUIPMENT_LIMIT),
    "legal_refs": _items(what="法律依据", missing="请至少列出一条法律依据", limit=LEGAL_REF_LIMIT),
    "active": _active,
}


def load(document: dict, *, now: datetime | None = None) -> int:
    """Bring the categories in line with a taxonomy document in the current transaction; returns how many changed.

    New categories are created (one audit entry lists them all: a first seed creates the whole taxonomy at once),
    fields the file changed are updated unless an admin has edited them since the last load, and categories the
    file no longer lists are deactivated (one audit entry per changed category, with before and after). Every
    category created or changed publishes category.changed.
    """
    now = now or clock.now()
    existing = {category.code: category for category in db.session.scalars(select(Category))}
    created: list[Category] = []
    changed: list[Category] = []
    for major in document["categories"]:
        parent = _apply(existing, major, None, now, created, changed)
        for child in major.get("children", []):
            _apply(existing, child, parent, now, created, changed)
    listed = {spec["code"] for major in document["categories"] for spec in [major, *major.get("children", [])]}
    for code, category in sorted(existing.items()):
        if code not in listed:
            last = category.seeded if category.seeded is not None else _current(category)
            gone = {**last, "active": False}
            if _change(category, gone, category.parent, now, action="category.deactivated", fields=("active",)):
                changed.append(category)
    if created:
        db.session.flush()
        audit.record(
            actor=System("seed"),
            action="categories.created",
            detail={"codes": [category.code for category in created]},
            at=now,
        )
    for category in [*created, *changed]:
        publish(Event.CATEGORY_CHANGED, category_id=category.id)
    return len(created) + len(changed)


def _apply(
    existing: dict[str, Category],
    spec: dict,
    parent: Category | None,
    now: datetime,
    created: list[Category],
    changed: list[Category],
) -> Category:
    wanted = {
        "name": spec["name"],
        "parent": parent.code if parent else None,
        "case_type": spec.get("case_type"),
        "guide": spec.get("guide", ""),
        "equipment": spec.get("equipment", []),
        "legal_refs": spec.get("legal_refs", []),
        "deadlines": spec.get("deadlines", {}),
        "active": True,
    }
    category = existing.get(spec["code"])
    if category is None:
        values = {field: value for field, value in wanted.items() if field != "parent"}
        category = Category(code=spec["code"], parent=parent, seeded=wanted, **values)
        db.session.add(category)
        existing[category.code] = category
        created.append(category)
    elif _change(category, wanted, parent, now, action="category.updated"):
        changed.append(category)
    return category


def _change(
    category: Category,
    wanted: dict,
    parent: Category | None,
    now: datetime,
    *,
    action: str,
    fields: tuple[str, ...] = SEEDED,
) -> bool:
    """Apply the file's values to the fields nobody edited since the last load; audit them; say if any changed."""
    current = _current(category)
    last = category.seeded if category.seeded is not None else current  # rows loaded before `seeded` existed
    before, after, kept = {}, {}, []
    for field in fields:
        if wanted[field] == current[field]:
            continue
        if current[field] == last.get(field):
            before[field], after[field] = current[field], wanted[field]
        else:
            kept.append(field)  # an admin's edit: theirs stands
    if category.seeded != wanted:
        category.seeded = wanted
    if not after:
        return False
    for field, value in after.items():
        if field == "parent":
            category.parent = parent
        else:
            setattr(category, field, value)
    audit.record(
        actor=System("seed"),
        action=action,
        subject=category,
        detail={"code": category.code, "before": before, "after": after, "kept_local_edits": kept},
        at=now,
    )
    return True


def _current(category: Category) -> dict:
    values = {field: getattr(category, field) for field in SEEDED if field != "parent"}
    return {**values, "parent": category.parent.code if category.parent else None}
