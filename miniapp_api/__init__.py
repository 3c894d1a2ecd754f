"""The mini-program's REST API (/api/miniapp/v1) with its OpenAPI document, login and evidence uploads."""

from flask import Flask

from casework import events
from casework.events import Event
from miniapp_api import (  # noqa: F401 - importing the route modules registers their routes on the blueprint
    account_routes,
    category_routes,
    complaint_routes,
    consents,
    doorplate_routes,
    incident_routes,
    sessions,
    texts,
    upload_routes,
    upload_sweep,
)
from miniapp_api.blueprint import PREFIX, MiniappApi, bp

API_SETTINGS = {
    "MINIAPP_API_TITLE": "wx110 小程序接口",
    "MINIAPP_API_VERSION": "v1",
    "MINIAPP_OPENAPI_VERSION": "3.0.3",
    "MINIAPP_OPENAPI_URL_PREFIX": PREFIX,
    "MINIAPP_OPENAPI_JSON_PATH": "openapi.json",
}


def init_app(app: Flask) -> None:
    """Register the blueprint and serve its OpenAPI document at /api/miniapp/v1/openapi.json."""
    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, value)
    api = MiniappApi(
        app,
        config_prefix="MINIAPP",
        spec_kwargs={
            "servers": [{"url": "/"}],
            "info": {"description": texts.API_DESCRIPTION},
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "登录接口返回的 token"}
    )
    api.register_blueprint(bp)
    app.extensions["wx110.miniapp_api"] = api
    events.subscribe(
        app, Event.INCIDENT_STATUS_CHANGED, consents.notify_progress, job="miniapp.notify_progress", queue="notify"
    )
    events.subscribe(
        app, Event.CHAT_MESSAGE_ADDED, consents.notify_chat_message, job="miniapp.notify_chat_message", queue="notify"
    )
    events.subscribe(
        app,
        Event.COMPLAINT_ANSWERED,
        consents.notify_complaint_answer,
        job="miniapp.notify_complaint_answer",
        queue="notify",
    )
    events.periodic(app, "miniapp.sweep_sessions", sessions.sweep_expired_sessions, every=3600)
    events.periodic(app, "miniapp.sweep_uploads", upload_sweep.sweep_abandoned_uploads, every=3600)
