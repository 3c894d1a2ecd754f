"""Following, unfollowing, doorplate scans, menu clicks, and anything unknown."""

from bot import replies
from bot.handlers import asking, reporting
from bot.registry import Turn, fallback, on_event
from casework import citizens, incidents
from casework.doorplates import doorplate_from_scan, doorplate_from_token
from casework.errors import NotFound

DOORPLATE_SCENE = "dp:"


def _expect_report_at(turn: Turn, doorplate) -> str:
    """The next report is made at this doorplate; or, when the bot asked where a report happened, this is it."""
    step = turn.conversation.step()
    if step.get("step") == "where":
        incident = reporting.followed_incident(turn)
        if incident is not None and incident.id == step.get("incident_id"):
            turn.conversation.clear()
            incidents.set_location(incident=incident, actor=turn.citizen, doorplate=doorplate)
            return replies.DOORPLATE_PLACED.format(number=incident.number, address=doorplate.address)
    turn.conversation.expect("doorplate", doorplate_id=doorplate.id)
    return replies.DOORPLATE_SCANNED.format(address=doorplate.address)


def _scene(turn: Turn) -> str:
    """A parametric QR code's scene: "dp:<token>" is a doorplate."""
    scene = turn.data.get("EventKey") if isinstance(turn.data.get("EventKey"), str) else ""
    scene = scene.removeprefix("qrscene_").strip()
    if not scene.startswith(DOORPLATE_SCENE):
        return replies.NOT_OUR_CODE
    try:
        doorplate = doorplate_from_token(scene[len(DOORPLATE_SCENE) :])
    except NotFound:
        return replies.DOORPLATE_INVALID
    return _expect_report_at(turn, doorplate)


@on_event("subscribe")
def subscribe(turn: Turn) -> str:
    citizens.set_subscribed(turn.citizen, True)
    return replies.WELCOME


@on_event("subscribe_scan")
def subscribe_with_scene(turn: Turn) -> str:
    citizens.set_subscribed(turn.citizen, True)
    return replies.WELCOME + "\n\n" + _scene(turn)


@on_event("scan")
def scan(turn: Turn) -> str:
    return _scene(turn)


@on_event("scancode_waitmsg", "scancode_push")
def scancode(turn: Turn) -> str:
    """The menu's scan button: a doorplate URL (or token) read by WeChat's scanner."""
    info = turn.data.get("ScanCodeInfo")
    result = info.get("ScanResult") if isinstance(info, dict) else None
    if not isinstance(result, str) or not result.strip():
        return replies.NOT_OUR_CODE
    try:
        doorplate = doorplate_from_scan(result.strip()[:512])
    except NotFound:
        return replies.DOORPLATE_INVALID
    if doorplate is None:
        return replies.NOT_OUR_CODE
    return _expect_report_at(turn, doorplate)


@on_event("click")
def click(turn: Turn) -> str:
    key = turn.data.get("EventKey") if isinstance(turn.data.get("EventKey"), str) else ""
    action = asking.MENU.get(key.strip().upper())
    return action(turn) if action else replies.HELP


@on_event("unsubscribe")
def unsubscribe(turn: Turn) -> None:
    citizens.set_subscribed(turn.citizen, False)
    turn.conversation.clear()
    turn.conversation.unfollow()
    return None


@fallback
def anything_else(turn: Turn) -> str | None:
    """Unknown messages get a polite answer; unknown events (menu views, job reports) need none."""
    kind = str(turn.data.get("MsgType") or "").lower()
    return None if kind == "event" else replies.UNKNOWN
