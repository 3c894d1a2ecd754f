"""Doorplates: find one by its code or by its signed short code (a scanned QR), revoke one, move one.

A doorplate's short code is signed with the keys of QR_KEYS (`casework.doorplate_codes`); every channel that
reads a scan (the bot, the mini-program, the landing page) resolves it here, so a revoked or moved doorplate
stops leading to a report everywhere at once. Importing the registry from a CSV is `casework.doorplate_import`.
"""

from datetime import datetime
from functools import lru_cache

from sqlalchemy import select

from casework import audit, clock, events, settings
from casework.access import not_found, require_officer, require_visible, scope_of
from casework.db import db
from casework.doorplate_codes import SCENE_PREFIX, InvalidToken, KeyRing, sign, token_from_text, verify
from casework.errors import Conflict, InvalidInput
from casework.events import Event
from casework.models import Actor, Doorplate, DoorplateStatus, Officer, Role, System
from casework.unit_of_work import use_case

__all__ = [
    "SCENE_PREFIX",
    "InvalidToken",
    "by_code",
    "doorplate_from_scan",
    "doorplate_from_token",
    "key_ring",
    "listing",
    "managed",
    "move",
    "revoke",
    "token_for",
]


@lru_cache(maxsize=8)
def _parsed(spec: str) -> KeyRing:
    return KeyRing.parse(spec)


def key_ring() -> KeyRing:
    """The configured key ring (the first key of QR_KEYS signs, all verify)."""
    return _parsed(settings.get("QR_KEYS") or "")


def token_for(doorplate: Doorplate) -> str:
    """The doorplate's short code under the current signing key (what its QR codes carry)."""
    return sign(key_ring(), doorplate.id)


def doorplate_from_token(token: str) -> Doorplate:
    """The active doorplate behind a token; InvalidToken (a NotFound) if the token is bad or the doorplate was
    revoked or moved."""
    doorplate_id = verify(key_ring(), token)
    doorplate = db.session.scalar(select(Doorplate).where(Doorplate.id == doorplate_id))
    if doorplate is None or doorplate.status != DoorplateStatus.ACTIVE.value:
        raise InvalidToken("该门牌二维码已停用")
    return doorplate


def doorplate_from_scan(text: str) -> Doorplate | None:
    """The doorplate behind a scanned URL, scene or bare token; None when the text is not one of our codes at all."""
    token = token_from_text(text, settings.get("PUBLIC_BASE_URL"))
    return doorplate_from_token(token) if token else None


def by_code(code: str) -> Doorplate:
    """The doorplate with this code, or InvalidInput naming it."""
    doorplate = db.session.scalar(select(Doorplate).where(Doorplate.code == (code or "").strip()))
    if doorplate is None:
        raise InvalidInput(f"门牌编码 {code} 不存在")
    return doorplate


def listing(officer: Officer, *, search: str | None = None, limit: int = 100) -> list[Doorplate]:
    """The doorplates an administrator manages (their scope), by code; `search` is the start of a code or any
    part of an address."""
    require_officer(officer, Role.ADMIN)
    query = select(Doorplate).where(scope_of(officer).clause(Doorplate.unit_id))
    search = (search or "").strip()[:64]
    if search:
        query = query.where(
            Doorplate.code.startswith(search, autoescape=True) | Doorplate.address.contains(search, autoescape=True)
        )
    return list(db.session.scalars(query.order_by(Doorplate.code).limit(min(max(limit, 1), 500))))


def managed(officer: Officer, code: str) -> Doorplate:
    """The doorplate with this code among those `officer` administers; another unit's answers as a missing one."""
    doorplate = db.session.scalar(select(Doorplate).where(Doorplate.code == (code or "").strip()))
    require_officer(officer, Role.ADMIN)
    if doorplate is None or not scope_of(officer).covers(doorplate.unit_id):
        raise not_found(Doorplate)
    return doorplate


@use_case
def revoke(*, doorplate: Doorplate, actor: Actor, reason: str, now: datetime | None = None) -> Doorplate:
    """Withdraw a doorplate's code (lost, defaced, misprinted): scans of it stop leading to a report."""
    require_admin(actor, doorplate)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请说明停用原因")
    if not doorplate.is_active:
        raise Conflict(f"门牌 {doorplate.code} 已停用")
    now = now or clock.now()
    doorplate.status = DoorplateStatus.REVOKED.value
    audit.record(
        actor=actor,
        action="doorplate.revoked",
        subject=doorplate,
        at=now,
        detail={"code": doorplate.code, "reason": reason[:500]},
    )
    events.publish(Event.DOORPLATE_REVOKED, doorplate_id=doorplate.id)
    return doorplate


@use_case
def move(
    *, doorplate: Doorplate, to: Doorplate, actor: Actor, reason: str = "", now: datetime | None = None
) -> Doorplate:
    """Retire a doorplate whose building was renumbered in favour of its successor; the old code stops working."""
    require_admin(actor, doorplate, to)
    if not doorplate.is_active:
        raise Conflict(f"门牌 {doorplate.code} 已停用")
    if to.id == doorplate.id or not to.is_active:
        raise InvalidInput("迁移目标须是另一块有效门牌")
    now = now or clock.now()
    doorplate.status = DoorplateStatus.MOVED.value
    doorplate.moved_to = to
    audit.record(
        actor=actor,
        action="doorplate.moved",
        subject=doorplate,
        at=now,
        detail={"code": doorplate.code, "to": to.code, "reason": (reason or "").strip()[:500]},
    )
    events.publish(Event.DOORPLATE_MOVED, doorplate_id=doorplate.id, to_doorplate_id=to.id)
    return doorplate


def require_admin(actor: Actor, *doorplates: Doorplate) -> None:
    """Operator commands act as the system; in the console only an administrator manages the registry, and only
    the doorplates of the units in their scope (another unit's doorplate answers as a missing one)."""
    if not isinstance(actor, System):
        require_officer(actor, Role.ADMIN)
        for doorplate in doorplates:
            require_visible(actor, doorplate)
