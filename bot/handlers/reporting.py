"""Reports and follow-ups: text, voice, image, video, location and link messages, and the LOCATION event."""

from bot import replies
from bot.handlers import asking
from bot.registry import Turn, on_event, on_message
from casework import chat, idempotency, incidents
from casework.db import db
from casework.incidents import EvidenceSpec
from casework.models import AttachmentKind, Doorplate, Incident
from casework.status import FINISHED, Channel
from casework.unit_of_work import transaction


def followed_incident(turn: Turn) -> Incident | None:
    """The citizen's own unfinished incident that recent messages follow up on, if the window is still open."""
    incident_id = turn.conversation.following()
    if incident_id is None:
        return None
    incident = db.session.get(Incident, incident_id)
    if incident is None or incident.citizen_id != turn.citizen.id or incident.state in FINISHED:
        turn.conversation.unfollow()
        return None
    return incident


def _doorplate_of_step(turn: Turn) -> Doorplate | None:
    """The doorplate scanned just before, while it is still valid; one revoked or moved since is dropped from the
    conversation (and the turn remembers to tell the citizen so)."""
    step = turn.conversation.step()
    if step.get("step") != "doorplate":
        return None
    doorplate = db.session.get(Doorplate, step.get("doorplate_id"))
    if doorplate is None or not doorplate.is_active:
        turn.conversation.clear()
        turn.notices.append(replies.DOORPLATE_DROPPED)
        return None
    return doorplate


def _has_place(incident: Incident) -> bool:
    return incident.doorplate_id is not None or incident.latitude is not None or bool(incident.address)


def new_report(
    turn: Turn,
    description: str,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    address: str | None = None,
    evidence: tuple[EvidenceSpec, ...] = (),
) -> Incident:
    """Open an incident with the evidence that came with it: at the doorplate just scanned, else where the
    citizen is (when known). A report with no place is taken all the same; the bot then asks for one."""
    doorplate = _doorplate_of_step(turn)
    if doorplate is None and latitude is None:
        known = turn.conversation.last_location()
        if known is not None:
            latitude, longitude = known
    incident = incidents.report(
        citizen=turn.citizen,
        channel=Channel.WECHAT,
        description=description,
        source_msg_id=turn.source_id,
        doorplate=doorplate,
        latitude=None if doorplate else latitude,
        longitude=None if doorplate else longitude,
        address=None if doorplate else address,
        evidence=evidence,
    )
    if doorplate is not None:
        turn.conversation.clear()
    turn.conversation.follow(incident.id)
    if not _has_place(incident):
        turn.conversation.expect("where", incident_id=incident.id)
        turn.notices.append(replies.ASK_PLACE)
    return incident


def looks_like_address(text: str) -> bool:
    """A short single line naming a place (路, 号, 小区...) answers "where?"; one that tells of people or what
    they do is more of the story (it becomes a chat message, as any follow-up)."""
    return (
        len(text) <= ADDRESS_MAX
        and "\n" not in text
        and any(word in text for word in ADDRESS_WORDS)
        and not any(word in text for word in STORY_WORDS)
    )


ADDRESS_MAX = 60
ADDRESS_WORDS = ("路", "街", "巷", "弄", "号", "村", "镇", "小区", "大厦", "广场", "公园", "市场", "车站", "学校")
STORY_WORDS = ("有人", "报警", "他", "她", "打", "抢", "偷", "吵", "砸", "伤", "跑")


def _answer_where(turn: Turn, text: str) -> tuple[str, Incident] | None:
    """The typed address that answers the bot's question about a report's place, if this text is one."""
    step = turn.conversation.step()
    if step.get("step") != "where" or not looks_like_address(text):
        return None
    incident = followed_incident(turn)
    if incident is None or incident.id != step.get("incident_id"):
        return None
    turn.conversation.clear()
    incidents.set_location(incident=incident, actor=turn.citizen, address=text)
    return replies.LOCATED.format(number=incident.number, address=text), incident


def _is_retry(turn: Turn) -> bool:
    """Whether this message already made a report (WeChat delivers a message again when the answer is slow)."""
    return idempotency.earlier(Incident.source_msg_id, turn.source_id) is not None  # the report looks again: kept


def report_or_follow_up(turn: Turn, text: str) -> tuple[str, Incident]:
    """Free text: a new report, or a chat message on the incident the citizen is following up."""
    if _is_retry(turn):  # the same answer as the first delivery got, whatever the conversation says now
        incident = new_report(turn, text)
        return replies.received(incident), incident
    located = _answer_where(turn, text)
    if located is not None:
        return located
    if _doorplate_of_step(turn) is None:
        incident = followed_incident(turn)
        if incident is not None:
            chat.add_message(incident=incident, actor=turn.citizen, body=text, source_msg_id=turn.source_id)
            turn.conversation.follow(incident.id)
            return replies.FOLLOW_UP.format(number=incident.number), incident
    incident = new_report(turn, text)
    return replies.received(incident), incident


@on_message("text")
def text(turn: Turn) -> str:
    content = (turn.data.get("Content") or "").strip()
    answered = asking.answer_text(turn, content)
    if answered is not None:
        return answered
    return with_notices(turn, report_or_follow_up(turn, content)[0])


def with_notices(turn: Turn, answer: str) -> str:
    """The answer, then what the turn found on the way (a dropped doorplate first, the question about the place
    last)."""
    return "\n".join(
        [
            *[n for n in turn.notices if n == replies.DOORPLATE_DROPPED],
            answer,
            *[n for n in turn.notices if n != replies.DOORPLATE_DROPPED],
        ]
    )


@on_message("link")
def link(turn: Turn) -> str:
    data = turn.data
    content = replies.LINK_TEXT.format(
        title=data.get("Title") or "", description=data.get("Description") or "", url=data.get("Url") or ""
    ).strip()
    return with_notices(turn, report_or_follow_up(turn, content)[0])


def _attach(turn: Turn, kind: AttachmentKind, media_id: str, incident: Incident | None = None) -> str:
    """A media message: evidence for the incident being followed up, or a new report that carries it."""
    media = EvidenceSpec(kind=kind, source_ref=turn.source_id, wechat_media_id=media_id)
    if incident is None:
        incident = followed_incident(turn) if _doorplate_of_step(turn) is None else None
    if incident is None:
        incident = new_report(turn, replies.MEDIA_REPORT.format(kind=kind.label), evidence=(media,))
        return with_notices(turn, replies.received(incident) + replies.EVIDENCE_RECEIVING.format(kind=kind.label))
    incidents.attach_evidence(
        incident=incident, actor=turn.citizen, kind=kind, source_ref=turn.source_id, wechat_media_id=media_id
    )
    turn.conversation.follow(incident.id)
    return replies.EVIDENCE_ADDED.format(kind=kind.label, number=incident.number)


def _media_id(turn: Turn) -> str:
    media_id = turn.data.get("MediaId")
    if not isinstance(media_id, str) or not media_id.strip() or len(media_id) > 256:
        return ""
    return media_id.strip()


@on_message("video", "shortvideo")
def video(turn: Turn) -> str:
    media_id = _media_id(turn)
    return _attach(turn, AttachmentKind.VIDEO, media_id) if media_id else replies.UNKNOWN


@on_message("image")
def image(turn: Turn) -> str:
    media_id = _media_id(turn)
    return _attach(turn, AttachmentKind.IMAGE, media_id) if media_id else replies.UNKNOWN


@on_message("voice")
def voice(turn: Turn) -> str:
    """Use WeChat's speech recognition as the text when it is there; keep the recording as evidence either way."""
    media_id = _media_id(turn)
    recognised = (turn.data.get("Recognition") or "").strip() if isinstance(turn.data.get("Recognition"), str) else ""
    if not recognised:
        return _attach(turn, AttachmentKind.VOICE, media_id) if media_id else replies.UNKNOWN
    answered = asking.answer_text(turn, recognised)
    if answered is not None:
        return answered
    with transaction():  # the report (or chat message) and the recording: one commit
        reply, incident = report_or_follow_up(turn, recognised)
        if media_id:
            incidents.attach_evidence(
                incident=incident,
                actor=turn.citizen,
                kind=AttachmentKind.VOICE,
                source_ref=turn.source_id,
                wechat_media_id=media_id,
            )
    return with_notices(turn, reply)


def _coordinates(latitude, longitude) -> tuple[float, float] | None:
    try:
        latitude, longitude = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


@on_message("location")
def location(turn: Turn) -> str:
    """A location message places the followed-up incident, or is itself a report from that place."""
    where = _coordinates(turn.data.get("Location_X"), turn.data.get("Location_Y"))
    if where is None:
        return replies.BAD_LOCATION
    label = turn.data.get("Label") if isinstance(turn.data.get("Label"), str) else ""
    label = label.strip()[:200] or f"{where[0]:.5f}, {where[1]:.5f}"
    turn.conversation.remember_location(*where)
    incident = followed_incident(turn)
    if incident is not None:
        if turn.conversation.step().get("step") == "where":
            turn.conversation.clear()
        incidents.set_location(
            incident=incident, actor=turn.citizen, latitude=where[0], longitude=where[1], address=label
        )
        return replies.LOCATED.format(number=incident.number, address=label)
    incident = new_report(
        turn, replies.LOCATION_REPORT.format(label=label), latitude=where[0], longitude=where[1], address=label
    )
    return with_notices(turn, replies.received(incident) + replies.ASK_DETAILS)


@on_event("location")
def location_event(turn: Turn) -> None:
    """WeChat's periodic position report: remembered for the next report, never answered."""
    where = _coordinates(turn.data.get("Latitude"), turn.data.get("Longitude"))
    if where is not None:
        turn.conversation.remember_location(*where)
    return None
