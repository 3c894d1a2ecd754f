"""A citizen's short conversation state with the bot, kept with a TTL (Redis, or memory in-process).

Three things are remembered: a pending step ("after a doorplate scan", "which incident to complain about",
"what happened"), the incident recent messages follow up on, and the last location WeChat reported.
"""

import json
from dataclasses import dataclass

from flask import current_app

from store import state


def _key(kind: str, openid: str) -> str:
    return f"{kind}:{openid}"


@dataclass
class Conversation:
    openid: str

    # -- the pending step ---------------------------------------------------------------------------------

    def step(self) -> dict:
        """The pending step, e.g. {"step": "doorplate", "doorplate_id": 3}; {} when there is none."""
        raw = state("bot").get(_key("step", self.openid))
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def expect(self, step: str, **data) -> None:
        state("bot").set(
            _key("step", self.openid), json.dumps({"step": step, **data}), current_app.config["WECHAT_CONVERSATION_TTL"]
        )

    def clear(self) -> None:
        state("bot").delete(_key("step", self.openid))

    # -- follow-ups ---------------------------------------------------------------------------------------

    def following(self) -> int | None:
        """The incident the citizen's next free text belongs to, inside the follow-up window."""
        raw = state("bot").get(_key("follow", self.openid))
        return int(raw) if raw and raw.isdigit() else None

    def follow(self, incident_id: int) -> None:
        state("bot").set(_key("follow", self.openid), str(incident_id), current_app.config["WECHAT_FOLLOWUP_WINDOW"])

    def unfollow(self) -> None:
        state("bot").delete(_key("follow", self.openid))

    # -- last reported location ---------------------------------------------------------------------------

    def last_location(self) -> tuple[float, float] | None:
        raw = state("bot").get(_key("where", self.openid))
        try:
            latitude, longitude = json.loads(raw) if raw else (None, None)
        except ValueError:
            return None
        return (float(latitude), float(longitude)) if latitude is not None else None

    def remember_location(self, latitude: float, longitude: float) -> None:
        state("bot").set(
            _key("where", self.openid), json.dumps([latitude, longitude]), current_app.config["WECHAT_CONVERSATION_TTL"]
        )
