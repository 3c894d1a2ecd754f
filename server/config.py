"""Configuration from the environment (a `.env` file is read in development).

Every setting is declared once, below or in `casework.settings` (the domain's own), with how its text is read,
its default and one line of meaning. `from_env` turns the declarations into the app's configuration; the
README's configuration tables are `markdown()` of them, and a test keeps the two equal.
An empty value counts as unset.
"""

import copy
import os
from pathlib import Path

from casework import settings as domain_settings
from casework.settings import Setting
from store.limits import Rule
from supervision import settings as supervision_settings


class ConfigError(ValueError):
    """A setting's text cannot be read as its type."""


# -- how a setting's text is read --------------------------------------------------------------------------


def flag(value: str) -> bool:
    """yes/no, true/false, on/off, 1/0."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected yes or no")


def words(value: str) -> list[str]:
    """Comma-separated words."""
    return [part.strip() for part in value.split(",") if part.strip()]


def rate(value: str) -> str:
    """A rate limit, count/seconds."""
    Rule.parse(value)
    return value.strip()


def database_url(value: str) -> str:
    """A SQLAlchemy URL; postgres:// and postgresql:// are used with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def count_from_one(value: str) -> int:
    """a whole number, 1 or more"""
    number = int(value)
    if number < 1:
        raise ValueError("expected a whole number of 1 or more")
    return number


def one_of(*choices: str):
    def choice(value: str) -> str:
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    choice.__doc__ = " or ".join(choices)
    return choice


RATE_LIMITS = {
    "login": "30/60",
    "report": "10/600",
    "upload": "60/600",
    "chat": "30/60",
    "complaint": "10/3600",
    "consent": "60/60",
}


def rate_limits(value: str) -> dict[str, str]:
    """Per-citizen limits as "scope=count/seconds,..." over the defaults, e.g. "report=5/600"."""
    rules = dict(RATE_LIMITS)
    for part in words(value):
        scope, _, rule = part.partition("=")
        rules[scope.strip()] = rate(rule)
    return rules


TYPE_NAMES = {
    str: "text",
    int: "integer",
    float: "number",
    flag: "yes/no",
    words: "list",
    rate: "count/seconds",
    database_url: "URL",
    rate_limits: "scope=count/seconds,...",
}


# -- the declarations, by package ----------------------------------------------------------------------------


def _sqlite_file(_values: dict, instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'wx110.sqlite3'}"


def _media_dir(_values: dict, instance_path: str) -> str:
    return str(Path(instance_path) / "media")


def _checkpoint_dir(_values: dict, instance_path: str) -> str:
    return str(Path(instance_path) / "audit-checkpoints")


def _progress_template(values: dict, _instance_path: str) -> str:
    return values["WECHAT_PROGRESS_TEMPLATE_ID"]


GROUPS: dict[str, list[Setting]] = {
    "Service": [
        Setting(
            "DATABASE_URL",
            database_url,
            _sqlite_file,
            "SQLAlchemy URL of the database",
            shown="SQLite file `instance/wx110.sqlite3`",
            key="SQLALCHEMY_DATABASE_URI",
        ),
        Setting(
            "DATABASE_POOL_SIZE",
            int,
            10,
            "PostgreSQL connections each process keeps open: a gunicorn worker needs one per thread, an rq worker "
            "up to four (the job, the running outbox message's lock, a queued message's citizen lock, a public "
            "number's reservation); see Connections",
        ),
        Setting("DATABASE_MAX_OVERFLOW", int, 5, "connections a process may open beyond the pool at a peak"),
        Setting(
            "DATABASE_TRANSACTION_POOLER",
            flag,
            False,
            "`DATABASE_URL` points at PgBouncer in transaction mode: no server-side prepared statements",
        ),
        Setting(
            "REDIS_URL",
            str,
            None,
            "Redis for rq, the shared WeChat token and short-lived state",
            shown="unset: in-process mode (jobs in a background thread, sweeps on a timer)",
        ),
        Setting("REDIS_CONNECT_TIMEOUT", float, 0.3, "request-path Redis connect timeout in seconds (no retries)"),
        Setting("REDIS_SOCKET_TIMEOUT", float, 0.5, "request-path Redis read timeout in seconds (no retries)"),
        Setting("INLINE_TIMER", flag, True, "in-process mode: run the periodic sweeps on a timer in the web process"),
        Setting(
            "OUTBOX_RELAY_SECONDS",
            int,
            30,
            "how often the relay looks for outbox jobs not yet queued (written by another process, or while "
            "Redis was down)",
        ),
        Setting(
            "OUTBOX_RELAY_EMBEDDED_SECONDS",
            int,
            2,
            "in-process mode: how often the web process's relay picks up outbox jobs another process wrote",
        ),
        Setting(
            "PRODUCTION",
            flag,
            False,
            "a production deployment: development defaults that are not secret (`AUDIT_MAC_KEYS`) are refused",
        ),
        Setting(
            "WORKER_HOUSEKEEPING_SECONDS",
            float,
            5.0,
            "how often each worker (one at a time) drains messages kept in Redis, relays and re-queues abandoned jobs",
        ),
        Setting("SECRET_KEY", str, "dev-only-not-secret", "session and signing secret", shown="a development value"),
        Setting(
            "AUDIT_CHECKPOINT_DIR",
            str,
            _checkpoint_dir,
            "directory of the audit chain's write-once head checkpoints (mount it where the database's users "
            "cannot write, e.g. an append-only volume of another host)",
            shown="`instance/audit-checkpoints`",
        ),
        Setting(
            "MEDIA_ROOT", str, _media_dir, "evidence storage directory (shared by all nodes)", shown="`instance/media`"
        ),
    ],
    "WeChat": [
        Setting(
            "WECHAT_API_BASE",
            str,
            "https://api.weixin.qq.com",
            "where the WeChat API lives (tests and the demo use the loopback fake)",
        ),
        Setting("WECHAT_TOKEN", str, "", "official account: server token"),
        Setting("WECHAT_AES_KEY", str, "", "official account: EncodingAESKey (43 characters) for safe mode"),
        Setting(
            "WECHAT_ALLOW_PLAINTEXT",
            flag,
            False,
            "with `WECHAT_AES_KEY` set, also accept plaintext callbacks (compatible mode: only while switching "
            "the account to safe mode; a plain signature does not cover the body)",
        ),
        Setting("WECHAT_APPID", str, "", "official account: AppID"),
        Setting("WECHAT_SECRET", str, "", "official account: AppSecret"),
        Setting(
            "WECHAT_REPLY_MODE",
            one_of("inline", "queued"),
            "inline",
            "`inline`: answer inside the callback; `queued`: answer `success` and push the reply from a job",
        ),
        Setting(
            "WECHAT_UNKEPT_WAIT",
            float,
            5.5,
            "queued mode: seconds the callback keeps trying when neither the database nor Redis can keep a message, "
            "then answers 503 (past WeChat's 5 s, so WeChat retries)",
        ),
        Setting(
            "WECHAT_QUEUED_BATCH",
            count_from_one,
            20,
            "queued mode: captured messages a worker handles in one transaction (its job's, and other citizens' that "
            "wait and whose lock is free); 1 handles each message alone",
        ),
        Setting("WECHAT_REPLAY_WINDOW", int, 300, "seconds a signed callback timestamp stays fresh"),
        Setting("WECHAT_MAX_BODY", int, 64 * 1024, "largest callback body in bytes"),
        Setting("WECHAT_CONVERSATION_TTL", int, 900, "seconds a pending question of the bot stays open"),
        Setting(
            "WECHAT_FOLLOWUP_WINDOW",
            int,
            1800,
            "seconds in which a reporter's next text joins the same incident's chat",
        ),
        Setting(
            "WECHAT_DUPLICATE_WAIT",
            float,
            4.0,
            "seconds a duplicate delivery waits for the first one's reply (inside WeChat's 5)",
        ),
        Setting(
            "WECHAT_CLAIM_LEASE_SECONDS",
            float,
            8.0,
            "seconds after which a claimed message still without a reply is taken over by its next delivery",
        ),
        Setting("WECHAT_MEDIA_MAX_BYTES", int, 200 * 1024 * 1024, "largest WeChat media file fetched as evidence"),
        # rq's first run + 5 retries in server/jobs.py
        Setting("WECHAT_MEDIA_FETCH_ATTEMPTS", int, 6, "failed downloads after which an attachment is marked failed"),
        Setting(
            "WECHAT_PROGRESS_TEMPLATE_ID",
            str,
            "",
            "template message for progress outside the 48-hour window (empty: none)",
        ),
        Setting(
            "WECHAT_CHAT_TEMPLATE_ID",
            str,
            _progress_template,
            "template message for officer chat outside the 48-hour window",
            shown="`WECHAT_PROGRESS_TEMPLATE_ID`",
        ),
    ],
    "Console": [
        Setting(
            "CONSOLE_SECURE_COOKIES",
            flag,
            True,
            "send the console's session cookie over HTTPS only (browsers also accept it on http://127.0.0.1)",
        ),
    ],
    "Mini-program": [
        Setting("MINIAPP_APPID", str, "", "mini-program AppID"),
        Setting("MINIAPP_SECRET", str, "", "mini-program AppSecret"),
        Setting("MINIAPP_SESSION_TTL", int, 7 * 86400, "seconds a mini-program login stays valid"),
        Setting("MINIAPP_PROGRESS_TEMPLATE_ID", str, "", "subscribe-message template for progress (empty: none)"),
        Setting(
            "MINIAPP_PROGRESS_TEMPLATE_FIELDS",
            words,
            ["character_string1", "phrase2", "thing3", "time4"],
            "that template's field names: number, status, note, time",
        ),
        Setting(
            "MINIAPP_RATE_LIMITS",
            rate_limits,
            RATE_LIMITS,
            "per-citizen limits over the defaults, counted in Redis and failing open",
            shown="`{}`".format(",".join(f"{scope}={rule}" for scope, rule in RATE_LIMITS.items())),
        ),
        Setting("MINIAPP_MAX_JSON_BYTES", int, 64 * 1024, "largest JSON request body in bytes"),
    ],
    "Evidence uploads": [
        Setting("MEDIA_MAX_REQUEST_BYTES", int, 260 * 1024 * 1024, "largest upload request in bytes"),
        Setting("MEDIA_MAX_IMAGE_BYTES", int, 20 * 1024 * 1024, "largest photo in bytes"),
        Setting("MEDIA_MAX_VIDEO_BYTES", int, 256 * 1024 * 1024, "largest video in bytes"),
        Setting("MEDIA_MAX_VIDEO_SECONDS", float, 300.0, "longest video in seconds"),
        Setting("MEDIA_MAX_IMAGE_PIXELS", int, 50_000_000, "most pixels in a photo (larger ones are refused)"),
        Setting(
            "MEDIA_MAX_CONCURRENT_DECODES",
            int,
            2,
            "photos a process decodes at once (each at most ~10 MB at reduced scale, more for a large PNG); "
            "other uploads wait",
        ),
        Setting("MEDIA_MAX_PHOTOS", int, 8, "photos per report"),
        Setting("MEDIA_MAX_VIDEOS", int, 1, "videos per report"),
        Setting("MEDIA_MAX_PENDING_UPLOADS", int, 20, "uploads a citizen may hold not yet attached to a report"),
        Setting("MEDIA_UPLOAD_KEEP_HOURS", int, 48, "hours an unattached upload is kept before it is swept"),
    ],
    "Doorplates": [
        Setting("QR_WEB_REPORT_LIMIT", rate, "10/600", "web reports per doorplate and client address"),
        Setting("WEB_TRACKING_DAYS", int, 90, "days a web reporter's signed tracking link stays valid"),
        Setting(
            "SMS_SENDER",
            str,
            "log",
            "the SMS gateway for web reporters' tracking links: `log` (none: nothing is sent, the text goes to the "
            "log and the page says so) or `package.module:factory`",
        ),
        Setting(
            "LABEL_FONT",
            str,
            "",
            "font for doorplate labels (`file.ttc#index` for a collection face)",
            shown="the bundled CJK subset in `qr/fonts/`",
        ),
        Setting("MINIAPP_DOORPLATE_PAGE", str, "pages/report/index", "mini-program page a doorplate code opens"),
        Setting("MINIAPP_ENV_VERSION", str, "release", "mini-program version a doorplate code opens"),
    ],
    "Domain": domain_settings.SETTINGS,
    "Supervision": supervision_settings.SETTINGS,
}

SETTINGS = [setting for group in GROUPS.values() for setting in group]


def from_env(environ: os._Environ | dict, instance_path: str) -> dict:
    """Every declared setting, read from `environ` or defaulted; ConfigError names one that cannot be read."""
    values: dict = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name, "")
        if raw.strip():
            try:
                value = setting.type(raw)
            except ValueError as exc:
                raise ConfigError(f"{setting.name}={raw!r}: {exc}") from exc
        elif callable(setting.default):
            value = setting.default(values, instance_path)
        else:
            value = copy.deepcopy(setting.default)  # a list or dict default is never shared between apps
        values[setting.name] = value
    return {setting.config_key: values[setting.name] for setting in SETTINGS}


def shown_default(setting: Setting) -> str:
    if setting.shown is not None:
        return setting.shown
    if setting.default is None or setting.default == "":
        return "empty"
    if isinstance(setting.default, bool):
        return "yes" if setting.default else "no"
    if isinstance(setting.default, list):
        return f"`{','.join(setting.default)}`"
    if setting.name.endswith("_BYTES") and setting.default % 1024 == 0:
        kib = setting.default // 1024
        return f"`{setting.default}` ({kib // 1024} MiB)" if kib % 1024 == 0 else f"`{setting.default}` ({kib} KiB)"
    return f"`{setting.default}`"


def markdown() -> str:
    """The README's configuration tables, one per group."""
    lines = []
    for group, declared in GROUPS.items():
        lines += [f"**{group}**", "", "| variable | meaning | type | default |", "| --- | --- | --- | --- |"]
        for setting in declared:
            kind = TYPE_NAMES.get(setting.type) or setting.type.__doc__
            lines.append(f"| `{setting.name}` | {setting.meaning} | {kind} | {shown_default(setting)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
