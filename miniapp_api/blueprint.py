"""The /api/miniapp/v1 blueprint, its OpenAPI document, bearer authentication and error shapes."""

import json
from functools import wraps

from flask import current_app, g, jsonify, request
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import RequestEntityTooLarge, UnprocessableEntity

from media.sniff import Rejected
from miniapp_api import document, sessions, texts
from miniapp_api.schemas import ErrorOut
from store import limits

PREFIX = "/api/miniapp/v1"
BEARER = [{"bearerAuth": []}]

bp = Blueprint("miniapp", __name__, url_prefix=PREFIX, description="微信小程序接口")


class MiniappApi(Api):
    """flask-smorest's Api, documenting our error shape and leaving app-wide error handling to server.errors."""

    ERROR_SCHEMA = ErrorOut

    def _register_error_handlers(self):
        pass  # server.errors answers every HTTP error app-wide; this blueprint adds its own shapes below

    def _openapi_json(self):
        """Serve the document with what the routes cannot state (see miniapp_api.document)."""
        built = document.served(
            self.spec.to_dict(), progress_template_id=current_app.config.get("MINIAPP_PROGRESS_TEMPLATE_ID") or ""
        )
        return current_app.response_class(json.dumps(built, ensure_ascii=False, indent=2), mimetype="application/json")


class FieldErrors(Exception):
    """Input that passed the schema but breaks a rule the document states (422)."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(fields)
        self.fields = fields


class Unusable(FieldErrors):
    """Well-formed input naming something that cannot be used now: an upload that is not (or no longer) the
    citizen's to attach, a revoked doorplate, one file too many. The document cannot know it: 409."""


def citizen_required(view):
    """Resolve `Authorization: Bearer <token>` to g.citizen, or answer 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        citizen = sessions.citizen_for(token.strip()) if scheme.lower() == "bearer" else None
        if citizen is None:
            message = texts.SESSION_EXPIRED if token else texts.LOGIN_REQUIRED
            return jsonify(error="unauthorized", message=message), 401, {"WWW-Authenticate": "Bearer"}
        g.citizen = citizen
        return view(*args, **kwargs)

    return wrapper


def limit(scope: str, subject) -> None:
    """Count one request of `subject` in `scope` against MINIAPP_RATE_LIMITS; over it, answer 429."""
    limits.hit(f"miniapp:{scope}:{subject}", current_app.config["MINIAPP_RATE_LIMITS"].get(scope))


@bp.before_request
def _bounded_json_body():
    """Every endpoint but the upload takes a small JSON body: refuse a larger one with 413, chunked or not.

    Werkzeug cuts a chunked body at max_content_length without an error when it is read in one go, so the
    body is read here (and cached for the JSON parser) and a body that reaches the limit is refused.
    """
    if request.endpoint == f"{bp.name}.upload" or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = current_app.config["MINIAPP_MAX_JSON_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    request.max_content_length = limit
    if len(request.get_data(cache=True)) >= limit:
        raise RequestEntityTooLarge()


@bp.errorhandler(UnprocessableEntity)
def _validation_error(error):
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    fields: dict = {}
    for located in messages.values():
        if isinstance(located, dict):
            fields.update(located)
    return jsonify(error="invalid_input", message=texts.VALIDATION_FAILED, fields=fields), 422


@bp.errorhandler(FieldErrors)
def _field_errors(error: FieldErrors):
    status = 409 if isinstance(error, Unusable) else 422
    return jsonify(error="invalid_input", message=texts.VALIDATION_FAILED, fields=error.fields), status


@bp.errorhandler(Rejected)
def _rejected(error: Rejected):
    status = 413 if error.reason == "too_large" else 415 if error.reason == "unsupported_type" else 422
    message = texts.REJECTED.get(error.reason, texts.REJECTED["corrupt"])
    return jsonify(error=f"upload_{error.reason}", message=message, fields={"file": [message]}), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    response = jsonify(error="too_large", message=texts.TOO_LARGE)
    response.status_code = 413
    response.headers["Connection"] = "close"  # the rest of the body is not read; do not reuse this connection
    return response


@bp.errorhandler(limits.Limited)
def _limited(error: limits.Limited):
    return jsonify(error="rate_limited", message=texts.RATE_LIMITED), 429, {"Retry-After": str(error.retry_after)}
