"""Reference data that incidents point at: the category taxonomy and the doorplate registry."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import UTCDateTime, db, utcnow
from casework.models.people import Unit


class Category(db.Model):
    """A 警情类别: a major type (parent is None) or one of its sub-categories.

    Sub-categories carry what the responding officer is shown: a handling guide, an equipment checklist and
    legal references (admins may edit them: `casework.categories`); `deadlines` overrides the default legal
    deadlines for incidents of this kind.
    """

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(back_populates="parent", order_by="Category.code")
    case_type: Mapped[str | None] = mapped_column(String(16))  # criminal / public_order / None
    guide: Mapped[str] = mapped_column(Text, default="")
    equipment: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    deadlines: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    # What the taxonomy file said when last loaded: a re-seed updates only fields still equal to it (not edited).
    seeded: Mapped[dict | None] = mapped_column(JSON)

    @property
    def full_name(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent else self.name

    def __repr__(self) -> str:
        return f"<Category {self.code}>"


class DoorplateStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    MOVED = "moved"


class Doorplate(db.Model):
    """A standard address with coordinates and the station whose jurisdiction it lies in."""

    __tablename__ = "doorplate"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(256))
    longitude: Mapped[float | None] = mapped_column(Numeric(10, 6, asdecimal=False))
    latitude: Mapped[float | None] = mapped_column(Numeric(10, 6, asdecimal=False))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    unit: Mapped[Unit] = relationship()
    status: Mapped[str] = mapped_column(String(16), default=DoorplateStatus.ACTIVE.value)
    # A moved doorplate (renumbered building) points at the doorplate that replaced it.
    moved_to_id: Mapped[int | None] = mapped_column(ForeignKey("doorplate.id"))
    moved_to: Mapped["Doorplate | None"] = relationship(remote_side=[id])
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.status == DoorplateStatus.ACTIVE.value

    def __repr__(self) -> str:
        return f"<Doorplate {self.code}>"
