"""Domain errors and HTTP errors to responses, in one place, each in the language of the channel it reached.

- `/api/...` (and the probes, or a client that asks for JSON): `{"error", "message"[, "detail"]}` as JSON.
- `/wechat`: what the official-account callback answers when it will not handle a request: a short plain-text
  reason with the status (`bot.callback.plain_answer`); never JSON, never a page, never an encrypted reply.
- every other path is a browser route (the doorplate landing page, `/`, the console): a small Chinese HTML page.
"""

from flask import Blueprint, Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from bot.callback import plain_answer
from casework.errors import Conflict, DomainError, Forbidden, IllegalTransition, InvalidInput, NotFound

STATUS = {InvalidInput: 400, NotFound: 404, Forbidden: 403, IllegalTransition: 409, Conflict: 409}

HTTP_MESSAGES = {
    400: "请求格式不正确",
    401: "请先登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持该请求方法",
    409: "操作与当前状态冲突",
    413: "上传内容过大",
    415: "不支持的内容类型",
    429: "操作过于频繁,请稍后再试",
    500: "系统繁忙,请稍后再试",
    503: "服务暂不可用,请稍后再试",
}

PAGE_TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    409: "操作未完成",
    429: "操作过于频繁",
    500: "系统繁忙",
}
PAGE_HINT = "紧急情况请直接拨打110。"  # a citizen's page
CONSOLE_HINT = "如需帮助,请联系本单位系统管理员。"  # an officer's page: the way back is the console, not 110

pages = Blueprint("server_errors", __name__, template_folder="templates")


def status_of(error: DomainError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def init_app(app: Flask) -> None:
    app.register_blueprint(pages)  # only for its template folder

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        status = status_of(error)
        channel = channel_of_request()
        if channel == "api":
            return jsonify(error=error.code, message=error.message, detail=error.detail), status
        if channel == "wechat":
            return plain_answer(error.code, status)
        return _page(status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        channel = channel_of_request()
        if channel == "api":
            message = HTTP_MESSAGES.get(status, error.name)
            response = jsonify(error=error.name.lower().replace(" ", "_"), message=message)
            response.status_code = status
        elif channel == "wechat":
            response = plain_answer(error.name.lower(), status)
        else:
            response = _page(status, HTTP_MESSAGES.get(status, HTTP_MESSAGES[500 if status >= 500 else 400]))
        if not isinstance(error, InternalServerError):  # on every channel: a 405 names what is allowed (RFC 9110)
            original = error.get_response().headers
            for name in ("Allow", "Retry-After", "WWW-Authenticate"):  # what the original answer told the client
                if name in original:
                    response.headers[name] = original[name]
        return response


def channel_of_request() -> str:
    """Which channel the current request reached: "api", "wechat" or "page"."""
    path = request.path
    if path == "/wechat" or path.startswith("/wechat/"):
        return "wechat"
    if path.startswith("/api/") or path in ("/healthz", "/readyz"):
        return "api"
    if request.accept_mimetypes.best == "application/json":
        return "api"
    return "page"


def _page(status: int, message: str) -> Response:
    title = PAGE_TITLES.get(status) or PAGE_TITLES[500 if status >= 500 else 400]
    if request.path == "/console" or request.path.startswith("/console/"):
        hint, back, back_label = CONSOLE_HINT, "/console/", "返回接警处警台"
    else:
        hint, back, back_label = PAGE_HINT, "/", "返回首页"
    body = render_template(
        "server/error.html", status=status, title=title, message=message, hint=hint, back=back, back_label=back_label
    )
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
    return response
