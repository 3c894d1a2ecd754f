"""Mini-program login: a wx.login code becomes our own opaque bearer token, kept only as a hash, with a TTL.

WeChat's session_key is never stored, logged or returned: nothing here needs it.
"""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from casework import audit, citizens, clock, outbox
from casework.db import db
from casework.models import Citizen, System
from miniapp_api.models import MiniappSession


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(*, openid: str, unionid: str | None, ttl_seconds: int) -> tuple[str, MiniappSession]:
    """Identify the citizen (joined by unionid) and issue a fresh token; returns (token, session)."""
    citizen = citizens.identify(miniapp_openid=openid, unionid=unionid)
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session = MiniappSession(citizen=citizen, token_hash=hash_token(token), created_at=now,
                             expires_at=now + timedelta(seconds=ttl_seconds))
    db.session.add(session)
    db.session.flush()
    audit.record(actor=citizen, action="miniapp.logged_in", subject=session, at=now,
                 detail={"expires_at": session.expires_at.isoformat(), "unionid_known": bool(unionid)})
    db.session.commit()
    return token, session


def citizen_for(token: str) -> Citizen | None:
    """The citizen a live, unrevoked token belongs to, or None."""
    if not token or len(token) > 256:
        return None
    session = db.session.scalar(select(MiniappSession).where(MiniappSession.token_hash == hash_token(token)))
    if session is None or session.revoked_at is not None or session.expires_at <= clock.now():
        return None
    return session.citizen


def close_session(token: str) -> None:
    """Revoke a token (logout); unknown tokens are ignored."""
    session = db.session.scalar(select(MiniappSession).where(MiniappSession.token_hash == hash_token(token)))
    if session is None or session.revoked_at is not None:
        return
    now = clock.now()
    session.revoked_at = now
    audit.record(actor=session.citizen, action="miniapp.logged_out", subject=session, at=now)
    db.session.commit()


@outbox.periodic("miniapp.sweep_sessions", every=3600)
def sweep_expired_sessions() -> int:
    """Delete session rows a day past their expiry (they can no longer authenticate anyone)."""
    cutoff = clock.now() - timedelta(days=1)
    removed = db.session.execute(delete(MiniappSession).where(MiniappSession.expires_at < cutoff)).rowcount
    if removed:
        audit.record(actor=System("miniapp.sweep"), action="miniapp.sessions_expired", detail={"removed": removed})
    db.session.commit()
    return removed
