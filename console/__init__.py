"""The officer console: a server-rendered web app at /console/ (login, the live queue, the case page).

A channel like the others: it translates a form or a link into one casework call and the result into a page.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from flask_login import LoginManager

from console import (
    admin,
    admin_doorplates,
    admin_reference,
    auth,
    cases,
    complaint_queue,
    evaluation,
    idle_poll,
    simulator,
    supervision,
    views,
)

login_manager = LoginManager()


@dataclass(frozen=True)
class DoorplatePrinting:
    """What the doorplate admin pages need from the label printer (qr, a channel the console does not import):
    `sheet(doorplates) -> PDF bytes`, and `import_check()`, a per-line import check that the label font can
    print the address."""

    sheet: Callable[[list], bytes]
    import_check: Callable[[], Callable]


def init_app(app: Flask, *, printing: DoorplatePrinting) -> None:
    """Mount the console; CSRF is checked on the console's own forms only (the WeChat callback and the API are
    not cookie-authenticated)."""
    secure = app.config["CONSOLE_SECURE_COOKIES"]
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login session
        SESSION_COOKIE_NAME="wx110_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/console",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    views.csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "console.login"
    login_manager.login_message = "请先登录"
    login_manager.session_protection = "strong"
    login_manager.user_loader(auth.load_user)
    app.register_blueprint(views.bp)
    idle_poll.init_app(app, headers={**views.HEADERS, "Cache-Control": "no-store"})
    app.register_blueprint(simulator.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(complaint_queue.bp)
    app.register_blueprint(supervision.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(evaluation.bp)
    app.register_blueprint(admin_reference.bp)
    app.register_blueprint(admin_doorplates.bp)
    app.extensions[admin_doorplates.PRINTING] = printing
