"""Where evidence bytes live: a small interface, with a local directory under MEDIA_ROOT behind it.

Files are written once and never altered: bytes are hashed while they stream into a temporary file in the same
directory, which is then renamed into place atomically. A key names a file; keys are made here, never by callers,
so a key can always be trusted as a relative path. An object store can later implement the same three methods.
"""

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

CHUNK = 64 * 1024


class StorageError(ValueError):
    """The storage could not take or give a file (too large, missing, bad key)."""


class TooLarge(StorageError):
    """The stream was longer than the caller allowed; nothing was kept."""


@dataclass(frozen=True)
class StoredFile:
    """What `save` returns: the key to open the file again, its sha256 (hex) and its size in bytes."""

    key: str
    sha256: str
    size: int


class Storage(Protocol):
    def save(self, source: BinaryIO | Iterable[bytes], *, suffix: str = "", max_bytes: int | None = None) -> StoredFile:
        """Store a stream (a file-like object or an iterable of byte chunks) under a new key."""

    def open(self, key: str) -> BinaryIO:
        """Open a stored file for reading."""

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""

    def delete(self, key: str) -> None:
        """Remove a stored file."""


def _chunks(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if read is not None:
        while chunk := read(CHUNK):
            yield chunk
    else:
        for chunk in source:
            if chunk:
                yield chunk


class LocalStorage:
    """Files in a local (or shared, mounted) directory, sharded by the first characters of the key."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def save(self, source: BinaryIO | Iterable[bytes], *, suffix: str = "", max_bytes: int | None = None) -> StoredFile:
        """Stream `source` to disk, hashing as it goes; the file appears under its key only when complete."""
        suffix = _clean_suffix(suffix)
        key = f"{secrets.token_hex(1)}/{secrets.token_hex(16)}{suffix}"
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temp_name = tempfile.mkstemp(prefix=".partial-", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in _chunks(source):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(f"file larger than {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp_name, 0o440)  # evidence is never altered in place
            # link() fails if the name exists, so a stored file is never replaced, even on a key collision.
            os.link(temp_name, target)
        finally:
            os.unlink(temp_name)
        return StoredFile(key=key, sha256=digest.hexdigest(), size=size)

    def open(self, key: str) -> BinaryIO:
        """Open the file stored under `key` for binary reading."""
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise StorageError(f"no stored file {key!r}") from exc

    def exists(self, key: str) -> bool:
        """Whether a complete file is stored under `key`."""
        try:
            return self._path(key).is_file()
        except StorageError:
            return False

    def path(self, key: str) -> Path:
        """The local path of a stored file (for send_file and probing tools); local backend only."""
        return self._path(key)

    def delete(self, key: str) -> None:
        """Remove a file that no record refers to (an upload never used, or one refused after storing)."""
        self._path(key).unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if len(parts) != 2 or not all(p and p not in (".", "..") and not p.startswith(".") for p in parts):
            raise StorageError(f"bad storage key {key!r}")
        return self.root / parts[0] / parts[1]


def _clean_suffix(suffix: str) -> str:
    suffix = (suffix or "").lower()
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    if len(suffix) > 10 or not all(c.isalnum() for c in suffix[1:]):
        return ""
    return suffix


def storage() -> Storage:
    """The app's configured storage (a local directory under MEDIA_ROOT)."""
    existing = current_app.extensions.get("wx110.media_storage")
    if existing is None:
        existing = current_app.extensions["wx110.media_storage"] = LocalStorage(current_app.config["MEDIA_ROOT"])
    return existing


@contextmanager
def opened(key: str) -> Iterator[BinaryIO]:
    """Open a stored file from the app's storage, closing it afterwards."""
    handle = storage().open(key)
    try:
        yield handle
    finally:
        handle.close()
