"""A citizen's short conversation state with the bot, kept with a TTL (Redis, or memory in-process).

Three things are remembered: a pending step ("after a doorplate scan", "which incident to complain about",
"what happened"), the incident recent messages follow up on, and the last location WeChat reported.

A turn usually asks about more than one of them (a text report: is there a step, an incident followed, a known
location), some more than once: the first question of a `Conversation` reads all three in one round trip, and its
own changes keep what it read up to date, so a turn costs one read however many questions it asks.
"""

import json
from dataclasses import dataclass, field

from flask import current_app

from store import state

KINDS = ("step", "follow", "where")


def _key(kind: str, openid: str) -> str:
    return f"{kind}:{openid}"


@dataclass
class Conversation:
    openid: str
    _read: dict[str, str | None] | None = field(default=None, init=False, repr=False, compare=False)

    def _get(self, kind: str) -> str | None:
        if self._read is None:  # the first question: all three in one round trip
            self._read = dict(zip(KINDS, state("bot").get_many([_key(k, self.openid) for k in KINDS]), strict=True))
        return self._read[kind]

    def _set(self, kind: str, value: str, ttl: int) -> None:
        state("bot").set(_key(kind, self.openid), value, ttl)
        if self._read is not None:
            self._read[kind] = value if ttl > 0 else None  # a ttl of zero or less forgets the key

    def _delete(self, kind: str) -> None:
        state("bot").delete(_key(kind, self.openid))
        if self._read is not None:
            self._read[kind] = None

    # -- the pending step ---------------------------------------------------------------------------------

    def step(self) -> dict:
        """The pending step, e.g. {"step": "doorplate", "doorplate_id": 3}; {} when there is none."""
        raw = self._get("step")
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def expect(self, step: str, **data) -> None:
        self._set("step", json.dumps({"step": step, **data}), current_app.config["WECHAT_CONVERSATION_TTL"])

    def clear(self) -> None:
        self._delete("step")

    # -- follow-ups ---------------------------------------------------------------------------------------

    def following(self) -> int | None:
        """The incident the citizen's next free text belongs to, inside the follow-up window."""
        raw = self._get("follow")
        return int(raw) if raw and raw.isdigit() else None

    def follow(self, incident_id: int) -> None:
        self._set("follow", str(incident_id), current_app.config["WECHAT_FOLLOWUP_WINDOW"])

    def unfollow(self) -> None:
        self._delete("follow")

    # -- last reported location ---------------------------------------------------------------------------

    def last_location(self) -> tuple[float, float] | None:
        raw = self._get("where")
        try:
            latitude, longitude = json.loads(raw) if raw else (None, None)
        except ValueError:
            return None
        return (float(latitude), float(longitude)) if latitude is not None else None

    def remember_location(self, latitude: float, longitude: float) -> None:
        self._set("where", json.dumps([latitude, longitude]), current_app.config["WECHAT_CONVERSATION_TTL"])
