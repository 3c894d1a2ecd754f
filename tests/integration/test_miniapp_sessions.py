"""Mini-program sessions on a real database: hashed tokens, expiry, revocation and the sweep of old rows."""

from datetime import timedelta

from sqlalchemy import func, select

from casework import clock
from casework.db import db
from miniapp_api import sessions
from miniapp_api.models import MiniappSession


def test_tokens_are_stored_hashed_expire_and_are_swept(ctx):
    token, session = sessions.open_session(openid="mini-s1", unionid=None, ttl_seconds=3600)
    assert len(token) >= 40 and session.token_hash != token
    assert db.session.scalar(select(func.count()).where(MiniappSession.token_hash == token)) == 0
    citizen = sessions.citizen_for(token)
    assert citizen is not None and citizen.miniapp_openid == "mini-s1"
    assert sessions.citizen_for(token + "x") is None and sessions.citizen_for("") is None

    clock.freeze(clock.now() + timedelta(seconds=3601))
    assert sessions.citizen_for(token) is None
    assert sessions.sweep_expired_sessions() == 0  # expired, but kept a day for the record
    clock.freeze(clock.now() + timedelta(days=1, seconds=1))
    assert sessions.sweep_expired_sessions() == 1
    assert db.session.scalar(select(func.count(MiniappSession.id))) == 0


def test_logout_revokes_only_that_token(ctx):
    first, _ = sessions.open_session(openid="mini-s2", unionid=None, ttl_seconds=3600)
    second, _ = sessions.open_session(openid="mini-s2", unionid=None, ttl_seconds=3600)
    sessions.close_session(first)
    sessions.close_session(first)  # twice is harmless
    assert sessions.citizen_for(first) is None
    assert sessions.citizen_for(second) is not None
