"""The category codes a report's `category` takes: the active taxonomy as a tree (no login needed)."""

from sqlalchemy import select

from casework.db import db
from casework.models import Category
from miniapp_api.blueprint import bp
from miniapp_api.schemas import CategoryTreeOut


@bp.get("/categories")
@bp.response(200, CategoryTreeOut)
def list_categories():
    """警情类别:大类及其小类的代码和名称;报警时 category 填小类(或大类)的代码。"""
    active = db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code)).all()
    children: dict[int, list[Category]] = {}
    for category in active:
        if category.parent_id is not None:
            children.setdefault(category.parent_id, []).append(category)
    return {
        "categories": [
            {
                "code": major.code,
                "name": major.name,
                "children": [{"code": c.code, "name": c.name} for c in children.get(major.id, [])],
            }
            for major in active
            if major.parent_id is None
        ]
    }
