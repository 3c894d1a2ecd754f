"""Receiving one evidence file from a multipart request without holding it in memory, and turning it into
stored evidence: sniff the type from the bytes, check structure and limits, probe, make a clean preview.

The body is parsed by Werkzeug's streaming form parser; the file part is written as it arrives into a spool
file that hashes and counts, and refuses (413) once the per-file limit is passed. The request's own limit
refuses a declared Content-Length over it before a byte is read, and cuts a chunked body off with 413.
"""

import contextlib
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.wrappers import Request

from media import images, probe
from media.sniff import Rejected, Sniffed, check_structure, sniff
from media.storage import LocalStorage, StoredFile

# Bounds the decoder's buffer and each text field (Werkzeug applies it to every read of 64 KiB too);
# file parts are written out as they arrive and never accumulate here.
FORM_FIELD_MEMORY = 1024 * 1024
MAX_PARTS = 8


@dataclass(frozen=True)
class Limits:
    request_bytes: int
    image_bytes: int
    video_bytes: int
    video_seconds: float
    image_pixels: int
    image_decodes: int = 2  # photos decoded at once in this process


class Spool:
    """A temp file that hashes and counts what is written into it, and refuses to grow past `limit`."""

    def __init__(self, directory: Path, limit: int):
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=directory, prefix=".upload-")
        self.file = os.fdopen(handle, "w+b")
        self.path = Path(name)
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise RequestEntityTooLarge()
        self.digest.update(data)
        return self.file.write(data)

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        self.path.unlink(missing_ok=True)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


@dataclass
class Received:
    """What the request carried: the spooled file (if any), its client-side name and the text fields."""

    spools: list[Spool] = field(default_factory=list)
    files: dict[str, list[FileStorage]] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        for spool in self.spools:
            spool.discard()


@dataclass(frozen=True)
class Evidence:
    """A checked file now in storage: the untouched original, a clean preview, and what probing found."""

    sniffed: Sniffed
    original: StoredFile
    preview: StoredFile | None
    meta: dict
    original_name: str | None

    @property
    def keys(self) -> list[str]:
        return [self.original.key] + ([self.preview.key] if self.preview else [])


def receive(request: Request, *, limits: Limits, spool_dir: Path) -> Received:
    """Stream a multipart body into spool files; 413 for a body or file over the limit, 400 for a malformed one.

    On any error every spool file written so far is deleted before the error propagates.
    """
    if request.mimetype != "multipart/form-data":
        raise Rejected("not_multipart")
    if request.content_length is not None and request.content_length > limits.request_bytes:
        raise RequestEntityTooLarge()  # decided from the header alone: not a byte of the body is read
    request.max_content_length = limits.request_bytes  # a chunked body is cut off with 413, never truncated
    received = Received()
    per_file = max(limits.image_bytes, limits.video_bytes)

    def stream_factory(total_content_length, content_type, filename, content_length=None):
        if received.spools:
            raise Rejected("too_many_files")  # one file per request, as wx.uploadFile sends it
        spool = Spool(spool_dir, per_file)
        received.spools.append(spool)
        return spool

    parser = FormDataParser(
        stream_factory=stream_factory,
        max_form_memory_size=FORM_FIELD_MEMORY,
        max_content_length=limits.request_bytes,
        max_form_parts=MAX_PARTS,
    )
    try:
        _stream, form, files = parser.parse(
            request.stream, request.mimetype, request.content_length, request.mimetype_params
        )
    except (RequestEntityTooLarge, Rejected):
        received.discard()
        raise
    except (BadRequest, ValueError) as exc:
        received.discard()
        raise Rejected("malformed") from exc
    except BaseException:
        received.discard()
        raise
    received.files = {name: files.getlist(name) for name in files}
    received.fields = {name: form.get(name, "") for name in form}
    return received


def accept(received: Received, *, field_name: str, limits: Limits, store: LocalStorage) -> Evidence:
    """Check the one file in `received` and put it in storage; Rejected (nothing left behind) if it fails."""
    stored: list[str] = []
    try:
        uploads = received.files.get(field_name) or []
        if received.fields or set(received.files) - {field_name}:
            raise Rejected("unexpected_field")  # the document allows the one file field and nothing else
        if len(uploads) != 1 or not received.spools:
            raise Rejected("no_file")
        upload, spool = uploads[0], received.spools[0]
        spool.flush()
        if spool.size == 0:
            raise Rejected("empty")
        spool.seek(0)
        sniffed = sniff(spool.read(64))
        limit = limits.image_bytes if sniffed.kind == "image" else limits.video_bytes
        if spool.size > limit:
            raise Rejected("too_large")
        check_structure(spool.path, sniffed)
        if sniffed.kind == "image":
            meta, preview_bytes = images.check(
                spool.path, sniffed, max_pixels=limits.image_pixels, decodes=limits.image_decodes
            )
        else:
            meta = probe.probe(spool.path, max_seconds=limits.video_seconds)
            preview_bytes = probe.poster(spool.path)
        spool.seek(0)
        original = store.save(spool.file, suffix=sniffed.suffix)
        stored.append(original.key)
        if original.sha256 != spool.sha256 or original.size != spool.size:
            raise Rejected("corrupt")  # the spool changed under us; never keep a file whose hash we cannot vouch for
        preview = store.save(io.BytesIO(preview_bytes), suffix=".jpg")
        stored.append(preview.key)
        meta = {**meta, "preview_key": preview.key, "preview_sha256": preview.sha256}
        return Evidence(
            sniffed=sniffed, original=original, preview=preview, meta=meta, original_name=_clean_name(upload.filename)
        )
    except BaseException:
        for key in stored:
            store.delete(key)
        raise
    finally:
        received.discard()


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in name if ch.isprintable())[:200] or None
