"""Mini-program codes (wxacode) for doorplates: fetched from WeChat once, kept on disk under MEDIA_ROOT.

The scene is the doorplate's token (23 characters, within WeChat's 32), so the mini-program resolves it with
the same `GET /api/miniapp/v1/doorplates/<token>` as any other entry. The file name carries a hash of the scene,
page and version: rotating the signing key or changing the page fetches a fresh code, and a second fetch of the
same code is a cache hit, so the job is idempotent.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select

from casework import events
from casework.db import db
from casework.doorplates import token_for
from casework.events import Event
from casework.models import Doorplate
from qr import links
from wechat import client

JOB = "doorplates.fetch_wxacodes"


def init_app(app: Flask) -> None:
    """Fetch the codes of new doorplates when an import creates them."""
    events.subscribe(app, Event.DOORPLATES_CREATED, fetch_wxacodes, job=JOB)


def configured() -> bool:
    """Whether mini-program credentials are set (without them there is no wxacode to fetch)."""
    config = current_app.config
    return bool(config.get("MINIAPP_APPID") and config.get("MINIAPP_SECRET"))


def cache_path(doorplate: Doorplate) -> Path:
    config = current_app.config
    scene = token_for(doorplate)
    page = config["MINIAPP_DOORPLATE_PAGE"]
    version = config["MINIAPP_ENV_VERSION"]
    digest = hashlib.sha256(f"{config.get('MINIAPP_APPID')}|{scene}|{page}|{version}".encode()).hexdigest()[:24]
    return Path(config["MEDIA_ROOT"]) / "wxacode" / f"{doorplate.id}-{digest}.png"


def cached(doorplate: Doorplate) -> bytes | None:
    """The stored code for a doorplate, if it was fetched already."""
    path = cache_path(doorplate)
    return path.read_bytes() if path.is_file() else None


def fetch(doorplate: Doorplate) -> bytes:
    """The doorplate's mini-program code PNG, from the cache or else from WeChat (then stored)."""
    found = cached(doorplate)
    if found is not None:
        return found
    config = current_app.config
    png = client("miniapp").get_wxacode_unlimited(
        token_for(doorplate),
        page=config.get("MINIAPP_DOORPLATE_PAGE") or None,
        env_version=config["MINIAPP_ENV_VERSION"],
    )
    if not png.startswith(b"\x89PNG"):
        raise ValueError("WeChat answered something that is not a PNG")
    _store(cache_path(doorplate), png)
    return png


def fetch_wxacodes(doorplate_ids: list[int]) -> None:
    """Job, on new doorplates: fetch and store their mini-program codes (active ones; cached ones are skipped;
    nothing without mini-program credentials)."""
    if not configured():
        return
    for doorplate in db.session.scalars(select(Doorplate).where(Doorplate.id.in_(doorplate_ids))):
        if doorplate.is_active:
            fetch(doorplate)


def _store(path: Path, payload: bytes) -> None:
    # Write beside the target and rename, so a reader never sees half a file and two writers cannot mix.
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".png")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def official_account_qrcode(doorplate: Doorplate) -> dict:
    """A permanent parametric official-account QR for a doorplate (ticket and url; its scene is read back by
    `casework.doorplates.doorplate_from_scan`); for the bot's "follow us" labels, where a plain URL QR is not wanted."""
    return client("oa").create_scene_qrcode(links.scene_for_doorplate(doorplate))
