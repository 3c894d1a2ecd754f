"""Who acts in the system: citizens, police units and officers."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework import passwords
from casework.db import UTCDateTime, db, utcnow


class Citizen(db.Model):
    """A WeChat user, known by official-account openid and/or mini-program openid, joined by unionid."""

    __tablename__ = "citizen"
    kind = "citizen"

    id: Mapped[int] = mapped_column(primary_key=True)
    oa_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    miniapp_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), unique=True)
    nickname: Mapped[str | None] = mapped_column(String(64))
    real_name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(32))
    subscribed: Mapped[bool] = mapped_column(default=False)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Citizen {self.id}>"


class UnitLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    STATION = "station"

    @property
    def label(self) -> str:
        return {"province": "省厅", "city": "市局", "county": "县(区)局", "station": "派出所"}[self.value]


LEVEL_ORDER = [UnitLevel.PROVINCE, UnitLevel.CITY, UnitLevel.COUNTY, UnitLevel.STATION]


class Unit(db.Model):
    """A police organisation: province > city > county > station (the station handles cases)."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    parent: Mapped["Unit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Unit"]] = relationship(back_populates="parent")

    def ancestors(self) -> list["Unit"]:
        """The chain of units above this one, nearest first."""
        chain, unit = [], self.parent
        while unit is not None:
            chain.append(unit)
            unit = unit.parent
        return chain

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


class Role(StrEnum):
    DISPATCHER = "dispatcher"
    OFFICER = "officer"
    LEGAL_OFFICER = "legal_officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    PROPERTY_KEEPER = "property_keeper"  # keeps a unit's property room (涉案财物管理室)

    @property
    def label(self) -> str:
        return {
            "dispatcher": "接警员",
            "officer": "民警",
            "legal_officer": "法制员",
            "supervisor": "督察",
            "admin": "管理员",
            "property_keeper": "保管员",
        }[self.value]


class Officer(db.Model):
    """A console user belonging to one unit, with one or more roles."""

    __tablename__ = "officer"
    kind = "officer"

    id: Mapped[int] = mapped_column(primary_key=True)
    badge_no: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    unit: Mapped[Unit] = relationship()
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(32))
    # The officer's official-account openid once they bound their WeChat (warnings are pushed there).
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def has_role(self, role: Role) -> bool:
        return self.active and (role.value in self.roles or Role.ADMIN.value in self.roles)

    def set_password(self, password: str) -> None:
        self.password_hash = passwords.hash_password(password)

    def check_password(self, password: str) -> bool:
        return passwords.verify(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<Officer {self.badge_no}>"


class LoginFailure(db.Model):
    """One failed console login, kept while it counts towards a lockout of the badge or of the address."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_badge_at", "badge_no", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    badge_no: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class System:
    """The actor for changes no person made directly (jobs, sweeps, migrations)."""

    kind = "system"
    id = None

    def __init__(self, name: str = "system"):
        self.name = name


Actor = Citizen | Officer | System
