"""Knowing who a WeChat user is: one Citizen per person across the official account and the mini-program."""

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from casework import audit, clock
from casework.db import db
from casework.errors import InvalidInput
from casework.models import Citizen, Complaint, Incident
from casework.privacy import mask_phone
from casework.unit_of_work import use_case

MOBILE = re.compile(r"^1[3-9]\d{9}$")


@use_case
def identify(
    *,
    oa_openid: str | None = None,
    miniapp_openid: str | None = None,
    unionid: str | None = None,
    now: datetime | None = None,
) -> Citizen:
    """The citizen behind these WeChat ids, created on first contact and joined across channels by unionid."""
    if not (oa_openid or miniapp_openid):
        raise InvalidInput("缺少微信用户标识")
    now = now or clock.now()
    if not unionid and bool(oa_openid) != bool(miniapp_openid):
        # The common case, someone known writing again through one channel: one read, no SAVEPOINT to set up.
        column, value = (Citizen.oa_openid, oa_openid) if oa_openid else (Citizen.miniapp_openid, miniapp_openid)
        known = db.session.scalar(select(Citizen).where(column == value))
        if known is not None:
            return known
    for attempt in range(2):
        try:
            with db.session.begin_nested():
                return _identify_once(oa_openid, miniapp_openid, unionid, now)
        except IntegrityError:
            # A concurrent first contact by the same person created the row first: only the SAVEPOINT rolls
            # back (the caller's use case goes on); look again.
            if attempt:
                raise
    raise AssertionError("unreachable")


@use_case
def set_subscribed(citizen: Citizen, subscribed: bool, *, now: datetime | None = None) -> Citizen:
    """Record that the citizen followed or unfollowed the official account (only a change is recorded)."""
    if citizen.subscribed == subscribed:
        return citizen
    citizen.subscribed = subscribed
    audit.record(
        actor=citizen,
        action="citizen.subscribed" if subscribed else "citizen.unsubscribed",
        subject=citizen,
        detail={},
        at=now or clock.now(),
    )
    return citizen


def _identify_once(oa_openid, miniapp_openid, unionid, now: datetime) -> Citizen:
    clauses = []
    if oa_openid:
        clauses.append(Citizen.oa_openid == oa_openid)
    if miniapp_openid:
        clauses.append(Citizen.miniapp_openid == miniapp_openid)
    if unionid:
        clauses.append(Citizen.unionid == unionid)
    found = list(db.session.scalars(select(Citizen).where(or_(*clauses)).order_by(Citizen.id)))
    if not found:
        citizen = Citizen(oa_openid=oa_openid, miniapp_openid=miniapp_openid, unionid=unionid, created_at=now)
        db.session.add(citizen)
        db.session.flush()
        audit.record(
            actor=citizen,
            action="citizen.registered",
            subject=citizen,
            at=now,
            detail={"channel": "oa" if oa_openid else "miniapp", "unionid_known": bool(unionid)},
        )
        return citizen
    citizen = found[0]
    changed = {}
    if len(found) > 1:
        # The unionid reveals that two channel-only records are one person: keep the older, merge the newer.
        changed["merged_from"] = [other.id for other in found[1:]]
        _merge(citizen, found[1:])
    for attr, value in (("oa_openid", oa_openid), ("miniapp_openid", miniapp_openid), ("unionid", unionid)):
        if value and getattr(citizen, attr) != value:
            if getattr(citizen, attr):
                raise InvalidInput("微信用户标识冲突,请联系管理员")
            setattr(citizen, attr, value)
            changed[attr] = True
    if changed:
        audit.record(actor=citizen, action="citizen.joined", subject=citizen, detail=changed, at=now)
    return citizen


def _merge(keep: Citizen, others: list[Citizen]) -> None:
    for other in others:
        for model in (Incident, Complaint):
            for row in db.session.scalars(select(model).where(model.citizen_id == other.id)):
                row.citizen_id = keep.id
        for attr in ("oa_openid", "miniapp_openid", "unionid", "phone", "real_name", "id_number", "nickname"):
            value = getattr(other, attr)
            if value and not getattr(keep, attr):
                setattr(other, attr, None)
                db.session.flush()
                setattr(keep, attr, value)
            else:
                setattr(other, attr, None)
        db.session.flush()


@use_case
def identify_by_phone(phone: str, *, now: datetime | None = None) -> Citizen:
    """A reporter outside WeChat (the doorplate web form), known only by the mobile number they typed.

    The number is not verified, so such a citizen is never joined to a WeChat identity: it only lets the police
    call back and groups one number's web reports together.
    """
    phone = normalise_mobile(phone)
    web_only = (
        Citizen.phone == phone,
        Citizen.oa_openid.is_(None),
        Citizen.miniapp_openid.is_(None),
        Citizen.unionid.is_(None),
    )
    citizen = db.session.scalar(select(Citizen).where(*web_only).order_by(Citizen.id).limit(1))
    if citizen is not None:
        return citizen
    now = now or clock.now()
    citizen = Citizen(phone=phone, created_at=now)
    db.session.add(citizen)
    db.session.flush()
    audit.record(
        actor=citizen,
        action="citizen.registered",
        subject=citizen,
        at=now,
        detail={"channel": "web", "phone": mask_phone(phone), "verified": False},
    )
    return citizen


def normalise_mobile(phone) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 / 86 prefix are dropped)."""
    digits = re.sub(r"[\s-]", "", phone) if isinstance(phone, str) else ""
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
    if not MOBILE.match(digits):
        raise InvalidInput("请填写正确的11位手机号码")
    return digits
