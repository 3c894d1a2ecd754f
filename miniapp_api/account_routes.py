"""Login (wx.login code -> our bearer token), logout, and recording subscribe-message consents."""

import logging

import requests
from flask import current_app, g, jsonify, request

from casework import queries
from miniapp_api import consents, sessions, texts
from miniapp_api.blueprint import BEARER, bp, citizen_required, limit
from miniapp_api.schemas import ConsentIn, ConsentOut, LoginIn, LoginOut
from wechat import WeChatError
from wechat import client as wechat_client

log = logging.getLogger(__name__)


@bp.post("/session")
@bp.arguments(LoginIn)
@bp.response(201, LoginOut)
@bp.alt_response(401, description="微信登录失败")
def login(body):
    """用 wx.login 的 code 登录,换取接口令牌。"""
    limit("login", request.remote_addr or "-")
    try:
        answer = wechat_client("miniapp").code2session(body["code"])
    except WeChatError as exc:
        # errmsg may echo the code; log only the number. session_key is never logged or kept.
        log.info("code2session refused: errcode %s", exc.errcode)
        return jsonify(error="login_failed", message=texts.LOGIN_FAILED), 401
    except requests.RequestException as exc:
        log.warning("code2session unreachable: %s", type(exc).__name__)
        return jsonify(error="wechat_unavailable", message=texts.LOGIN_FAILED), 503
    token, session = sessions.open_session(
        openid=answer["openid"], unionid=answer.get("unionid"), ttl_seconds=current_app.config["MINIAPP_SESSION_TTL"]
    )
    return {"token": token, "expires_at": session.expires_at, "citizen_id": session.citizen_id}


@bp.delete("/session")
@citizen_required
@bp.doc(security=BEARER)
@bp.response(204)
def logout():
    """退出登录,令牌立即失效。"""
    _scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    sessions.close_session(token.strip())


@bp.post("/subscriptions")
@citizen_required
@bp.doc(security=BEARER)
@bp.arguments(ConsentIn)
@bp.response(201, ConsentOut)
def record_consents(body):
    """记录 wx.requestSubscribeMessage 的授权结果;每次 accept 可推送一条进度通知。"""
    limit("consent", g.citizen.id)
    incident = queries.incident_of(g.citizen, incident_id=body["incident_id"]) if body.get("incident_id") else None
    recorded = consents.record(citizen=g.citizen, results=body["results"], incident=incident)
    return {"recorded": recorded, "available": consents.available(g.citizen)}
