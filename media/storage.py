"""Where evidence files live: a local directory (MEDIA_ROOT) behind a small interface an object store can fill."""

import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int


class LocalStorage:
    """Files under one directory, named by a random key; written once (to a temp file, then renamed)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def save(self, stream: BinaryIO, *, suffix: str = "") -> StoredFile:
        """Copy `stream` into storage in chunks, hashing as it goes; never holds the whole file in memory."""
        key = f"{secrets.token_hex(2)}/{secrets.token_urlsafe(18)}{suffix}"
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            os.chmod(temp, 0o440)  # evidence is never altered in place
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return StoredFile(key=key, sha256=digest.hexdigest(), size=size)

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def path(self, key: str) -> Path:
        resolved = (self.root / key).resolve()
        if self.root.resolve() not in resolved.parents:
            raise ValueError("storage key outside the media root")
        return resolved

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def storage() -> LocalStorage:
    """The app's evidence storage."""
    found = current_app.extensions.get("wx110.media_storage")
    if found is None:
        found = current_app.extensions["wx110.media_storage"] = LocalStorage(current_app.config["MEDIA_ROOT"])
    return found
