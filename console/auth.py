"""Who is using the console: the signed-in officer (Flask-Login) and the role check on every page."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import UserMixin, current_user, login_required

from casework.db import db
from casework.models import Officer, Role

# Any role opens the queue and the case pages; what each may do there is checked by the domain.
ANY_ROLE = tuple(Role)


class ConsoleUser(UserMixin):
    """The signed-in officer as Flask-Login sees it; the session id changes when the password does, so a reset
    password or a deactivation ends every session of that officer."""

    def __init__(self, officer: Officer):
        self.officer = officer

    def get_id(self) -> str:
        return session_id(self.officer)

    @property
    def is_active(self) -> bool:
        return self.officer.active


def session_id(officer: Officer) -> str:
    return f"{officer.id}:{(officer.password_hash or '')[-12:]}"


def load_user(user_id: str) -> ConsoleUser | None:
    officer_id, _, _rest = user_id.partition(":")
    if not officer_id.isdigit():
        return None
    officer = db.session.get(Officer, int(officer_id))
    if officer is None or not officer.active or session_id(officer) != user_id:
        return None
    return ConsoleUser(officer)


def me() -> Officer:
    """The officer signed in for this request."""
    return current_user.officer


def requires(*roles: Role) -> Callable:
    """A page for signed-in officers holding one of `roles` (admins hold every role); others get 403."""
    roles = roles or ANY_ROLE

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if not any(me().has_role(role) for role in roles):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate
