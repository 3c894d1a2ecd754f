"""An open console's idle queue poll, answered before Flask.

Every open console polls its queue's rows every 2 s. While nothing the officer may see has changed the answer is
204, and that is decided from two things only: the signed session cookie (logged in, and the unit whose change mark
the page watches) and one store read (that unit's mark). Going through Flask for it (request context, session
interface, blueprint hooks, URL matching, the response object) costs several times the decision itself, and
two hundred consoles make a hundred such requests a second. So this WSGI wrapper answers those polls itself and
hands everything else, including every poll whose version is no longer current, to the app unchanged.

The decision is the view's own (`console.views.queue_rows` keeps it for polls that reach Flask), computed by the
same function, so the two cannot drift apart.
"""

from urllib.parse import parse_qs

from flask import Flask
from werkzeug.wrappers import Request

from casework import clock, queue_marks

PATH = "/console/queue/rows"
QUEUE_TOP = "queue_top"  # in the session: the unit whose change mark the open queue watches
REFRESH_SECONDS = 600  # an unchanged queue is sent again this often all the same


def version(mark: str, offset: int) -> str:
    """What the queue's rows depend on: the change mark of the officer's scope (the unit at its top), and a period
    of REFRESH_SECONDS counted from this console's own offset (so that consoles do not all refresh at once): the
    page ticks the ages itself, and the period bounds how stale a queue gets if a mark was ever lost."""
    return f"{mark}.{(int(clock.now().timestamp()) + offset) // REFRESH_SECONDS}"


def offset_of(given: str) -> int | None:
    """The console's offset in the refresh period as its poll carries it, or None when it is not a valid one."""
    return int(given) if given.isdigit() and int(given) < REFRESH_SECONDS else None


def unchanged(session, args, mark_of) -> bool:
    """Whether a poll's version is still current: logged in, watching a unit, and carrying that unit's version."""
    top = session.get(QUEUE_TOP)
    offset = offset_of(args.get("o", ""))
    if not session.get("_user_id") or top is None or offset is None:
        return False
    return args.get("v") == version(mark_of(top), offset)


class IdlePolls:
    """WSGI middleware around the app's own `wsgi_app`: a GET of the queue's rows whose version is current is
    answered 204 here, with the console's headers; anything else goes on to Flask."""

    def __init__(self, app: Flask, wsgi_app, headers: dict[str, str]):
        self.app = app
        self.wsgi_app = wsgi_app
        self.headers = [(name, value) for name, value in headers.items()] + [("Content-Length", "0")]

    def __call__(self, wsgi_env, start_response):
        if wsgi_env.get("PATH_INFO") == PATH and wsgi_env.get("REQUEST_METHOD") == "GET" and self._idle(wsgi_env):
            start_response("204 NO CONTENT", list(self.headers))
            return []
        return self.wsgi_app(wsgi_env, start_response)

    def _idle(self, wsgi_env) -> bool:
        try:
            session = self.app.session_interface.open_session(self.app, Request(wsgi_env))
            if not session:
                return False
            args = {name: values[0] for name, values in parse_qs(wsgi_env.get("QUERY_STRING", "")).items()}
            return unchanged(session, args, lambda top: queue_marks.mark_in(self.app, top))
        except Exception:  # noqa: BLE001 - anything odd is Flask's to answer (and to report)
            return False


def init_app(app: Flask, headers: dict[str, str]) -> None:
    app.wsgi_app = IdlePolls(app, app.wsgi_app, headers)
