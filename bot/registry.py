"""From a message type or event to the small function that handles it (no if/elif ladder).

`@on_message("text")` and `@on_event("subscribe")` register a handler. A handler takes a `Turn` and returns the
reply text, or None for a plain `success` (nothing to say now).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.conversation import Conversation
from casework.models import Citizen

Handler = Callable[["Turn"], str | None]
HANDLERS: dict[str, Handler] = {}
FALLBACK = "*"


@dataclass
class Turn:
    """One inbound message as handlers see it."""

    msg: object  # a parsed wechatpy message or event
    data: dict  # the raw fields (for what wechatpy does not model)
    citizen: Citizen
    source_id: str  # the channel id casework stores: "wechat:<MsgId>" or "wechat:evt:<...>"
    conversation: Conversation = field(init=False)
    notices: list[str] = field(init=False, default_factory=list)  # lines a handler adds to its answer

    def __post_init__(self):
        self.conversation = Conversation(self.citizen.oa_openid)


def kind_of(data: dict) -> str:
    """The registry key of a raw message: its MsgType, or "event:<Event>" for events (lower case)."""
    msg_type = str(data.get("MsgType") or "").lower()
    if msg_type == "event":
        event = str(data.get("Event") or "").lower()
        key = str(data.get("EventKey") or "")
        if event == "subscribe" and key.startswith("qrscene_"):
            event = "subscribe_scan"
        return f"event:{event}"
    return msg_type


def on_message(*types: str):
    """Register a handler for one or more message types."""

    def register(func: Handler) -> Handler:
        for name in types:
            HANDLERS[name] = func
        return func

    return register


def on_event(*events: str):
    """Register a handler for one or more event names (as WeChat spells them, any case)."""
    return on_message(*(f"event:{e.lower()}" for e in events))


def fallback(func: Handler) -> Handler:
    """Register the handler for anything not registered."""
    HANDLERS[FALLBACK] = func
    return func


def handler_for(kind: str) -> Handler:
    return HANDLERS.get(kind) or HANDLERS[FALLBACK]
