"""Mini-program login: a wx.login code becomes our own opaque bearer token, kept only as a hash, with a TTL.

WeChat's session_key is never stored, logged or returned: nothing here needs it.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from casework import audit, citizens, clock
from casework.db import db
from casework.models import Citizen, System
from casework.unit_of_work import use_case
from miniapp_api.models import MiniappSession


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@use_case
def open_session(
    *, openid: str, unionid: str | None, ttl_seconds: int, now: datetime | None = None
) -> tuple[str, MiniappSession]:
    """Identify the citizen (joined by unionid) and issue a fresh token, in one transaction; returns (token,
    session)."""
    now = now or clock.now()
    citizen = citizens.identify(miniapp_openid=openid, unionid=unionid, now=now)
    token = secrets.token_urlsafe(32)
    session = MiniappSession(
        citizen=citizen, token_hash=hash_token(token), created_at=now, expires_at=now + timedelta(seconds=ttl_seconds)
    )
    db.session.add(session)
    db.session.flush()
    audit.record(
        actor=citizen,
        action="miniapp.logged_in",
        subject=session,
        at=now,
        detail={"expires_at": session.expires_at.isoformat(), "unionid_known": bool(unionid)},
    )
    return token, session


def citizen_for(token: str, *, now: datetime | None = None) -> Citizen | None:
    """The citizen a live, unrevoked token belongs to (as of `now`), or None."""
    if not token or len(token) > 256:
        return None
    session = db.session.scalar(select(MiniappSession).where(MiniappSession.token_hash == hash_token(token)))
    if session is None or session.revoked_at is not None or session.expires_at <= (now or clock.now()):
        return None
    return session.citizen


@use_case
def close_session(token: str, *, now: datetime | None = None) -> None:
    """Revoke a token (logout); unknown tokens are ignored."""
    session = db.session.scalar(select(MiniappSession).where(MiniappSession.token_hash == hash_token(token)))
    if session is None or session.revoked_at is not None:
        return
    now = now or clock.now()
    session.revoked_at = now
    audit.record(actor=session.citizen, action="miniapp.logged_out", subject=session, at=now)


@use_case
def sweep_expired_sessions(*, now: datetime | None = None) -> int:
    """Delete session rows a day past their expiry as of `now` (they can no longer authenticate anyone)."""
    now = now or clock.now()
    cutoff = now - timedelta(days=1)
    removed = db.session.execute(delete(MiniappSession).where(MiniappSession.expires_at < cutoff)).rowcount
    if removed:
        audit.record(
            actor=System("miniapp.sweep"), action="miniapp.sessions_expired", at=now, detail={"removed": removed}
        )
    return removed
