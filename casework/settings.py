"""Configured values the domain reads (deadlines, windows, text limits, doorplate keys), each declared once here.

`Setting` is the one shape of a declaration, for every package: `server.config` collects these with the
channels' and infrastructure's own and turns them into the app's configuration. Outside an app the declared
default applies.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context


@dataclass(frozen=True)
class Setting:
    """One setting: its environment name, how its text is read, its default and one line of meaning.

    `default` is the value itself, or a function of the settings read so far and the app's instance path (a
    default that depends on another setting or on where the app lives); `shown` is how the README writes a
    default that is not a plain value.
    """

    name: str
    type: Callable[[str], Any]
    default: Any
    meaning: str
    shown: str | None = None
    key: str | None = None  # the app.config key, when it is not `name`

    @property
    def config_key(self) -> str:
        return self.key or self.name


def day_count(value: str) -> str:
    """`working` or `calendar`"""
    if value not in ("working", "calendar"):
        raise ValueError("expected `working` or `calendar`")
    return value


SETTINGS = [
    Setting("PUBLIC_BASE_URL", str, "http://127.0.0.1:5000", "the public origin printed in QR codes and links"),
    Setting(
        "QR_KEYS",
        str,
        "",
        "doorplate signing keys, `id:secret,id:secret` (the first signs; remove one to retire it)",
        shown="a development key",
    ),
    Setting(
        "DISPATCH_CENTRE_UNIT",
        str,
        "",
        "code of the unit whose queue takes incidents no station can be found for (empty: the root unit)",
    ),
    Setting(
        "COMPLAINT_ANSWER_DAYS",
        int,
        7,
        "days within which a complaint must be answered (from filing; a second review from its reopening)",
    ),
    Setting(
        "COMPLAINT_ACCEPT_DAYS",
        int,
        1,
        "days for supervision to accept a routed complaint, and then to ask the unit for its explanation",
    ),
    Setting("COMPLAINT_EXPLANATION_DAYS", int, 3, "days the handling unit has for its written explanation"),
    Setting("COMPLAINT_VERDICT_DAYS", int, 3, "days for supervision's verdict once the unit's explanation is in"),
    Setting("COMPLAINT_RATING_DAYS", int, 7, "days the complainant has to rate an answer; then it closes unrated"),
    Setting(
        "COMPLAINT_DAYS_COUNTED",
        day_count,
        "working",
        "how complaint deadlines count days: `working` (weekends skipped) or `calendar`",
    ),
    Setting("INCIDENT_DESCRIPTION_MAX", int, 2000, "longest description of a report, in characters"),
    Setting("CHAT_MESSAGE_MAX", int, 1000, "longest chat message, in characters"),
    Setting("COMPLAINT_BODY_MAX", int, 2000, "longest complaint or answer to one, in characters"),
    Setting("OUTBOX_STALE_SECONDS", int, 600, "the relay re-sends a job queued this long ago and not yet done"),
    Setting(
        "OUTBOX_ABANDONED_SECONDS",
        int,
        20,
        "a job queued this long ago, not done, neither waiting in the queue nor running, is re-sent",
    ),
    Setting("OUTBOX_MAX_ATTEMPTS", int, 10, "the relay stops re-sending a job that failed this many times"),
    Setting(
        "OUTBOX_RELAY_GRACE_SECONDS",
        int,
        5,
        "the relay leaves a job younger than this to its own after-commit dispatch",
    ),
    Setting(
        "AUDIT_MAC_KEYS",
        str,
        "",
        "audit chain MAC keys, `id:key,id:key` (the first signs, every one listed verifies the entries naming it); "
        "required when `PRODUCTION` is set",
        shown="a development key (refused in production)",
    ),
    Setting("AUDIT_CHECKPOINT_SECONDS", int, 300, "how often the audit chain's head is checkpointed"),
    Setting("CASE_SUMMONS_HOURS", int, 12, "hours a summons (传唤、拘传) may hold a person"),
    Setting("CASE_SUMMONS_MAX_HOURS", int, 24, "hours a summons may reach with approval (complex cases)"),
    Setting("CASE_DETENTION_DAYS", int, 3, "days of criminal detention before arrest approval must be requested"),
    Setting("CASE_DETENTION_MAX_DAYS", int, 7, "days a criminal detention may reach with approved extensions"),
    Setting(
        "CASE_DETENTION_SERIOUS_MAX_DAYS",
        int,
        30,
        "days a criminal detention may reach for roving, repeated or gang crime, with approval",
    ),
    Setting("CASE_DETENTION_EXTENSION_MAX_DAYS", int, 4, "days one approved detention extension may add"),
    Setting("CASE_BAIL_MONTHS", int, 12, "months release on bail pending trial (取保候审) may last"),
    Setting("CASE_SURVEILLANCE_MONTHS", int, 6, "months residential surveillance (监视居住) may last"),
    Setting("CASE_ARREST_REVIEW_DAYS", int, 7, "days the procuratorate has to decide on a request for arrest"),
    Setting("CASE_ADMIN_DETENTION_DAYS", int, 15, "days of administrative detention (行政拘留) at most"),
    Setting("LOGIN_LOCKOUT_FAILURES", int, 5, "wrong console passwords for one badge that lock it"),
    Setting("LOGIN_ADDRESS_FAILURES", int, 20, "wrong console passwords from one address that lock the address"),
    Setting("LOGIN_LOCKOUT_SECONDS", int, 900, "seconds a console lockout lasts (failures older than this expire)"),
]

DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


def get(name: str):
    """The app's value for `name`, or the domain default."""
    if has_app_context() and name in current_app.config:
        return current_app.config[name]
    return DEFAULTS[name]


def get_or(name: str, default):
    """The app's value for a setting declared outside the domain (e.g. `PRODUCTION`), or `default`."""
    if has_app_context():
        return current_app.config.get(name, default)
    return default
