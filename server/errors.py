"""Domain errors and HTTP errors to responses, in one place."""

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from casework.errors import Conflict, DomainError, Forbidden, IllegalTransition, InvalidInput, NotFound

STATUS = {InvalidInput: 400, NotFound: 404, Forbidden: 403, IllegalTransition: 409, Conflict: 409}

HTTP_MESSAGES = {
    400: "请求格式不正确",
    401: "请先登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持该请求方法",
    413: "上传内容过大",
    415: "不支持的内容类型",
    429: "操作过于频繁,请稍后再试",
}


def status_of(error: DomainError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return jsonify(error=error.code, message=error.message, detail=error.detail), status_of(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if not _wants_json():
            return error
        message = HTTP_MESSAGES.get(error.code, error.name)
        return jsonify(error=error.name.lower().replace(" ", "_"), message=message), error.code


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz") or (
        request.accept_mimetypes.best == "application/json"
    )
