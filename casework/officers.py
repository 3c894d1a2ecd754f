"""Officers signing in to the console (checking a password, locking out guessing, upgrading old hashes), and their
administration (create, reset password, roles, deactivate).

A wrong password is recorded (and audited) in its own committed transaction before the refusal is raised, so a
refusal still counts towards the lockout. Too many failures for one badge lock that badge, too many from one
address lock the address, each for `LOGIN_LOCKOUT_SECONDS` after the failure that locked it; while locked, no
password is even checked. An unknown badge and a wrong password answer alike.
"""

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from casework import audit, clock, passwords, settings, text
from casework.access import not_found, require_officer, scope_of
from casework.db import db
from casework.errors import Conflict, DomainError, InvalidInput
from casework.models import LoginFailure, Officer, Role, System, Unit
from casework.unit_of_work import transaction, use_case

WRONG_PASSWORD = "警号或密码错误"
CONSOLE = System("console")
# Verified when the badge is unknown, so that an unknown badge costs as much time as a wrong password.
_DUMMY_HASH = passwords.hash_password("wx110-no-such-officer")


class LoginRefused(DomainError):
    """The badge and password do not open the console (the same answer for an unknown badge)."""

    code = "login_refused"


class LockedOut(LoginRefused):
    """Too many wrong passwords for this badge or from this address; `seconds_left` until it may try again."""

    code = "locked_out"

    def __init__(self, seconds_left: int):
        minutes = max(1, math.ceil(seconds_left / 60))
        super().__init__(f"密码错误次数过多,已暂时锁定,请在 {minutes} 分钟后再试", seconds_left=seconds_left)
        self.seconds_left = seconds_left


def authenticate(*, badge_no: str, password: str, address: str, now: datetime | None = None) -> Officer:
    """The active officer whose badge and password these are; raises LoginRefused / LockedOut otherwise.

    Every outcome is audited: `officer.logged_in`, `officer.login_failed`, `officer.locked_out` (the failure
    that locks), `officer.login_refused` (an attempt while locked). A good login with a hash of an older scheme
    stores an argon2 hash instead.
    """
    now = now or clock.now()
    badge_no = (badge_no or "").strip()[:64]
    address = (address or "unknown").strip()[:64]
    officer = db.session.scalar(select(Officer).where(Officer.badge_no == badge_no)) if badge_no else None

    seconds_left = _locked_for(badge_no, address, now)
    if seconds_left:
        with transaction():
            audit.record(
                actor=CONSOLE,
                action="officer.login_refused",
                subject=officer,
                at=now,
                detail={"badge_no": badge_no, "address": address, "seconds_left": seconds_left},
            )
        raise LockedOut(seconds_left)

    good = passwords.verify(officer.password_hash if officer else _DUMMY_HASH, password or "")
    if officer is None or not officer.active or not good:
        seconds_left = _fail(officer, badge_no, address, now)
        if seconds_left:
            raise LockedOut(seconds_left)
        raise LoginRefused(WRONG_PASSWORD)
    return _logged_in(officer, password, address, now)


@use_case
def _fail(officer: Officer | None, badge_no: str, address: str, now: datetime) -> int:
    """Record one failure; returns the seconds of the lockout it caused (0: none)."""
    db.session.add(LoginFailure(badge_no=badge_no, address=address, at=now))
    reason = "unknown_badge" if officer is None else ("inactive" if not officer.active else "wrong_password")
    detail = {"badge_no": badge_no, "address": address, "reason": reason}
    audit.record(actor=CONSOLE, action="officer.login_failed", subject=officer, at=now, detail=detail)
    db.session.flush()
    seconds_left = _locked_for(badge_no, address, now)
    if seconds_left:
        audit.record(
            actor=CONSOLE,
            action="officer.locked_out",
            subject=officer,
            at=now,
            detail={"badge_no": badge_no, "address": address, "seconds": seconds_left},
        )
    return seconds_left


@use_case
def _logged_in(officer: Officer, password: str, address: str, now: datetime) -> Officer:
    upgraded = passwords.needs_upgrade(officer.password_hash)
    if upgraded:
        officer.password_hash = passwords.hash_password(password)
    db.session.execute(delete(LoginFailure).where(LoginFailure.badge_no == officer.badge_no))
    audit.record(
        actor=officer,
        action="officer.logged_in",
        subject=officer,
        at=now,
        detail={"address": address, "hash_upgraded": upgraded},
    )
    return officer


@use_case
def log_out(*, officer: Officer, now: datetime | None = None) -> None:
    """Record that an officer left the console."""
    audit.record(actor=officer, action="officer.logged_out", subject=officer, at=now or clock.now())


def _locked_for(badge_no: str, address: str, now: datetime) -> int:
    """Seconds until the badge and the address may both try again (0: neither is locked)."""
    seconds = settings.get("LOGIN_LOCKOUT_SECONDS")
    since = now - timedelta(seconds=seconds)
    left = 0
    for column, value, limit in (
        (LoginFailure.badge_no, badge_no, settings.get("LOGIN_LOCKOUT_FAILURES")),
        (LoginFailure.address, address, settings.get("LOGIN_ADDRESS_FAILURES")),
    ):
        times = db.session.scalars(
            select(LoginFailure.at).where(column == value, LoginFailure.at > since).order_by(LoginFailure.at.desc())
        ).all()
        if limit > 0 and len(times) >= limit:
            until = times[0] + timedelta(seconds=seconds)
            left = max(left, math.ceil((until - now).total_seconds()))
    return left


# -- administration -------------------------------------------------------------------------------------------

PASSWORD_MIN = 10


def _require_admin(actor: Officer) -> Officer:
    return require_officer(actor, Role.ADMIN)


def _password(password: str) -> str:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise InvalidInput(f"密码至少{PASSWORD_MIN}位")
    return password


def _roles(roles) -> list[str]:
    chosen = [Role(role).value for role in roles if role in {r.value for r in Role}]
    if not chosen:
        raise InvalidInput("请至少选择一个角色")
    return sorted(set(chosen))


@use_case
def create_officer(
    *,
    actor: Officer,
    badge_no: str,
    name: str,
    unit: Unit,
    roles,
    password: str,
    now: datetime | None = None,
) -> Officer:
    """Add a console user to a unit in the administrator's scope."""
    _require_admin(actor)
    if unit is None or not scope_of(actor).covers(unit.id):
        raise not_found(Unit)
    badge_no = (badge_no or "").strip()
    if not badge_no.isdigit() or not 4 <= len(badge_no) <= 16:
        raise InvalidInput("警号应为4至16位数字")
    if db.session.scalar(select(Officer.id).where(Officer.badge_no == badge_no)) is not None:
        raise Conflict("该警号已存在")
    name = text.clean(name, missing="请填写姓名", limit=64, what="姓名")
    officer = Officer(
        badge_no=badge_no,
        name=name,
        unit=unit,
        roles=_roles(roles),
        password_hash=passwords.hash_password(_password(password)),
    )
    db.session.add(officer)
    db.session.flush()
    audit.record(
        actor=actor,
        action="officer.created",
        subject=officer,
        at=now or clock.now(),
        detail={"badge_no": badge_no, "unit_id": unit.id, "roles": officer.roles},
    )
    return officer


def _managed(actor: Officer, officer: Officer | None) -> Officer:
    _require_admin(actor)
    if officer is None or not scope_of(actor).covers(officer.unit_id):
        raise not_found(Officer)
    return officer


@use_case
def reset_password(*, actor: Officer, officer: Officer, password: str, now: datetime | None = None) -> Officer:
    """Set a new password (ending the officer's sessions) and lift a lockout of the badge."""
    officer = _managed(actor, officer)
    officer.password_hash = passwords.hash_password(_password(password))
    db.session.execute(delete(LoginFailure).where(LoginFailure.badge_no == officer.badge_no))
    audit.record(actor=actor, action="officer.password_reset", subject=officer, at=now or clock.now())
    return officer


@use_case
def set_roles(*, actor: Officer, officer: Officer, roles, now: datetime | None = None) -> Officer:
    """Replace an officer's roles."""
    officer = _managed(actor, officer)
    before, officer.roles = officer.roles, _roles(roles)
    audit.record(
        actor=actor,
        action="officer.roles_changed",
        subject=officer,
        at=now or clock.now(),
        detail={"from": before, "to": officer.roles},
    )
    return officer


@use_case
def deactivate(*, actor: Officer, officer: Officer, now: datetime | None = None) -> Officer:
    """Close an officer's console access (their sessions end at the next request)."""
    officer = _managed(actor, officer)
    if officer.id == actor.id:
        raise Conflict("不能停用自己的账号")
    if not officer.active:
        raise Conflict("该账号已停用")
    officer.active = False
    audit.record(actor=actor, action="officer.deactivated", subject=officer, at=now or clock.now())
    return officer


OPENID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@use_case
def bind_wechat(*, actor: Officer, officer: Officer, openid: str, now: datetime | None = None) -> Officer:
    """Bind the officer's WeChat (their official-account openid, where warnings and evaluation tasks are pushed),
    or unbind it with an empty one."""
    officer = _managed(actor, officer)
    openid = (openid or "").strip()
    if openid and (not 6 <= len(openid) <= 64 or not set(openid) <= OPENID_CHARS):
        raise InvalidInput("openid 应为6至64位字母、数字、下划线或横线")
    if openid:
        holder = db.session.scalar(select(Officer).where(Officer.wechat_openid == openid))
        if holder is not None and holder.id != officer.id:
            raise Conflict("该微信已绑定其他民警")
    before, officer.wechat_openid = officer.wechat_openid, openid or None
    if before == officer.wechat_openid:
        raise Conflict("绑定未改变")
    audit.record(
        actor=actor,
        action="officer.wechat_bound" if openid else "officer.wechat_unbound",
        subject=officer,
        at=now or clock.now(),
        detail={"openid_tail": openid[-4:] if openid else None, "was_bound": before is not None},
    )
    return officer
