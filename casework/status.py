"""The incident status machine: which step may follow which, and what citizens read for each."""

from enum import StrEnum

from casework.errors import IllegalTransition


class IncidentStatus(StrEnum):
    RECEIVED = "received"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    HANDLED = "handled"
    CLOSED = "closed"
    ACCEPTED = "accepted"
    FILED = "filed"
    NOT_FILED = "not_filed"
    CONCLUDED = "concluded"

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def is_final(self) -> bool:
        return not TRANSITIONS[self]


LABELS = {
    IncidentStatus.RECEIVED: "已接报",
    IncidentStatus.DISPATCHED: "已派警",
    IncidentStatus.ON_SCENE: "已到场",
    IncidentStatus.HANDLED: "已处置",
    IncidentStatus.CLOSED: "已结警",
    IncidentStatus.ACCEPTED: "已受案",
    IncidentStatus.FILED: "已立案",
    IncidentStatus.NOT_FILED: "不予立案",
    IncidentStatus.CONCLUDED: "已办结",
}

S = IncidentStatus
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    S.RECEIVED: frozenset({S.DISPATCHED}),
    S.DISPATCHED: frozenset({S.ON_SCENE}),
    S.ON_SCENE: frozenset({S.HANDLED}),
    S.HANDLED: frozenset({S.CLOSED, S.ACCEPTED}),
    S.CLOSED: frozenset(),
    S.ACCEPTED: frozenset({S.FILED, S.NOT_FILED}),
    S.FILED: frozenset({S.CONCLUDED}),
    S.NOT_FILED: frozenset({S.CONCLUDED}),
    S.CONCLUDED: frozenset(),
}

# Statuses after which the police side considers the incident finished (rating and complaints are open).
FINISHED = frozenset({S.CLOSED, S.NOT_FILED, S.CONCLUDED})


def check_transition(current: IncidentStatus, target: IncidentStatus) -> None:
    """Raise IllegalTransition unless `target` may directly follow `current`."""
    if target not in TRANSITIONS[current]:
        allowed = "、".join(s.label for s in sorted(TRANSITIONS[current])) or "无"
        raise IllegalTransition(
            f"警情状态不能从「{current.label}」变为「{target.label}」(可变为:{allowed})",
            current=current.value,
            target=target.value,
        )


class Channel(StrEnum):
    WECHAT = "wechat"
    MINIAPP = "miniapp"
    WEB = "web"
    CONSOLE = "console"

    @property
    def label(self) -> str:
        return {"wechat": "微信公众号", "miniapp": "微信小程序", "web": "门牌网页", "console": "接警台"}[self.value]
