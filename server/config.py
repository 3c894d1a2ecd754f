"""Configuration from the environment (a `.env` file is read in development)."""

import os
from pathlib import Path


def database_uri(url: str | None, instance_path: str) -> str:
    """SQLAlchemy URI for DATABASE_URL; a SQLite file under `instance/` when unset."""
    if not url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(instance_path) / 'wx110.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


RATE_LIMITS = {"login": "30/60", "report": "10/600", "upload": "60/600", "chat": "30/60", "complaint": "10/3600",
               "consent": "60/60"}


def rate_limits(text: str) -> dict[str, str]:
    """Per-citizen limits as "scope=count/seconds,..." over the defaults, e.g. "report=5/600"."""
    rules = dict(RATE_LIMITS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        scope, _, rule = part.partition("=")
        rules[scope.strip()] = rule.strip()
    return rules


def from_env(environ: os._Environ | dict, instance_path: str) -> dict:
    """Every setting the app reads, with development defaults."""
    get = environ.get
    return {
        "SQLALCHEMY_DATABASE_URI": database_uri(get("DATABASE_URL"), instance_path),
        "REDIS_URL": get("REDIS_URL") or None,
        "SECRET_KEY": get("SECRET_KEY", "dev-only-not-secret"),
        "WECHAT_TOKEN": get("WECHAT_TOKEN", ""),
        "WECHAT_AES_KEY": get("WECHAT_AES_KEY", ""),
        "WECHAT_APPID": get("WECHAT_APPID", ""),
        "WECHAT_SECRET": get("WECHAT_SECRET", ""),
        "MINIAPP_APPID": get("MINIAPP_APPID", ""),
        "MINIAPP_SECRET": get("MINIAPP_SECRET", ""),
        "WECHAT_API_BASE": get("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "QR_KEYS": get("QR_KEYS", ""),
        "LABEL_FONT": get("LABEL_FONT", ""),
        "MINIAPP_DOORPLATE_PAGE": get("MINIAPP_DOORPLATE_PAGE", "pages/report/index"),
        "MINIAPP_ENV_VERSION": get("MINIAPP_ENV_VERSION", "release"),
        "MEDIA_ROOT": get("MEDIA_ROOT") or str(Path(instance_path) / "media"),
        "PUBLIC_BASE_URL": get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "COMPLAINT_ANSWER_DAYS": int(get("COMPLAINT_ANSWER_DAYS", "7")),
        # Redis on a request path must fail fast: WeChat allows 5 seconds for the whole answer.
        "REDIS_CONNECT_TIMEOUT": float(get("REDIS_CONNECT_TIMEOUT", "0.3")),
        "REDIS_SOCKET_TIMEOUT": float(get("REDIS_SOCKET_TIMEOUT", "0.5")),
        "OUTBOX_RELAY_SECONDS": int(get("OUTBOX_RELAY_SECONDS", "30")),
        "OUTBOX_STALE_SECONDS": int(get("OUTBOX_STALE_SECONDS", "600")),
        # WeChat official-account callback (bot/)
        "WECHAT_REPLAY_WINDOW": int(get("WECHAT_REPLAY_WINDOW", "300")),  # seconds a signed timestamp is fresh
        "WECHAT_MAX_BODY": int(get("WECHAT_MAX_BODY", str(64 * 1024))),
        "WECHAT_CONVERSATION_TTL": int(get("WECHAT_CONVERSATION_TTL", "900")),
        "WECHAT_FOLLOWUP_WINDOW": int(get("WECHAT_FOLLOWUP_WINDOW", "1800")),
        "WECHAT_DUPLICATE_WAIT": float(get("WECHAT_DUPLICATE_WAIT", "4.0")),
        # "inline": handle a message inside the callback and answer passively; "queued": capture it, answer
        # `success`, and push the reply from a job (recommended in production: the callback stays fast).
        "WECHAT_REPLY_MODE": get("WECHAT_REPLY_MODE", "inline"),
        "WECHAT_MEDIA_MAX_BYTES": int(get("WECHAT_MEDIA_MAX_BYTES", str(200 * 1024 * 1024))),
        # After this many failed downloads an attachment is marked failed (rq's first run + 5 retries in jobs.py).
        "WECHAT_MEDIA_FETCH_ATTEMPTS": int(get("WECHAT_MEDIA_FETCH_ATTEMPTS", "6")),
        "WECHAT_PROGRESS_TEMPLATE_ID": get("WECHAT_PROGRESS_TEMPLATE_ID", ""),
        "WECHAT_CHAT_TEMPLATE_ID": get("WECHAT_CHAT_TEMPLATE_ID") or get("WECHAT_PROGRESS_TEMPLATE_ID", ""),
        "INLINE_TIMER": get("INLINE_TIMER", "1") not in ("0", "false", "no"),
        # Mini-program API and evidence uploads
        "MINIAPP_SESSION_TTL": int(get("MINIAPP_SESSION_TTL", str(7 * 86400))),
        "MINIAPP_PROGRESS_TEMPLATE_ID": get("MINIAPP_PROGRESS_TEMPLATE_ID", ""),
        "MINIAPP_PROGRESS_TEMPLATE_FIELDS": get("MINIAPP_PROGRESS_TEMPLATE_FIELDS",
                                                "character_string1,phrase2,thing3,time4").split(","),
        "MINIAPP_RATE_LIMITS": rate_limits(get("MINIAPP_RATE_LIMITS", "")),
        "MINIAPP_MAX_JSON_BYTES": int(get("MINIAPP_MAX_JSON_BYTES", str(64 * 1024))),
        "MEDIA_MAX_REQUEST_BYTES": int(get("MEDIA_MAX_REQUEST_BYTES", str(260 * 1024 * 1024))),
        "MEDIA_MAX_IMAGE_BYTES": int(get("MEDIA_MAX_IMAGE_BYTES", str(20 * 1024 * 1024))),
        "MEDIA_MAX_VIDEO_BYTES": int(get("MEDIA_MAX_VIDEO_BYTES", str(256 * 1024 * 1024))),
        "MEDIA_MAX_VIDEO_SECONDS": float(get("MEDIA_MAX_VIDEO_SECONDS", "300")),
        "MEDIA_MAX_IMAGE_PIXELS": int(get("MEDIA_MAX_IMAGE_PIXELS", str(50_000_000))),
        "MEDIA_MAX_PHOTOS": int(get("MEDIA_MAX_PHOTOS", "8")),
        "MEDIA_MAX_VIDEOS": int(get("MEDIA_MAX_VIDEOS", "1")),
        "MEDIA_MAX_PENDING_UPLOADS": int(get("MEDIA_MAX_PENDING_UPLOADS", "20")),
        "MEDIA_UPLOAD_KEEP_HOURS": int(get("MEDIA_UPLOAD_KEEP_HOURS", "48")),
    }
