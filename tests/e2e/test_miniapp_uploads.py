"""Hostile and oversized uploads against a running server: refused early, never truncated, nothing kept."""

import http.client
import io
import json
import os
import select
import time
import tracemalloc
from datetime import timedelta

import pytest
from PIL import Image

from casework import clock
from casework.db import db
from miniapp_api import upload_sweep
from miniapp_api.models import Upload
from tests.miniapp_support import ELF_HEADER, jpeg_with_gps, make_mp4, png_bomb, png_bytes, zip_bytes

MB = 1024 * 1024


def multipart_head(boundary: str, filename: str, content_type: str = "application/octet-stream") -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def raw_upload(live, token: str, head: bytes, *, declared: int | None, total: int) -> tuple[int, dict, int]:
    """Send a multipart upload by hand (Content-Length or chunked); return status, JSON, bytes sent, seconds.

    Sending stops as soon as the server has answered or closed the connection, as a real client would.
    """
    host, port = live.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/api/miniapp/v1/uploads")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Type", "multipart/form-data; boundary=wx110boundary")
    if declared is None:
        connection.putheader("Transfer-Encoding", "chunked")
    else:
        connection.putheader("Content-Length", str(declared))
    connection.endheaders()
    sent = 0
    connection.sock.setblocking(True)
    chunk = b"\x00" * MB
    try:
        pieces = [head] + [chunk] * (total // MB)
        for piece in pieces:
            if _answered(connection.sock):
                break
            connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if declared is None else piece)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = connection.getresponse()
    payload = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, payload, sent


def _answered(sock) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def test_600_mb_upload_is_refused_from_its_header_without_reading_the_body(live_server):
    live = live_server
    token = live.login("openid-big").headers["Authorization"].split()[1]
    declared = 600 * MB
    status, payload, sent = raw_upload(
        live, token, multipart_head("wx110boundary", "big.mp4"), declared=declared, total=declared
    )
    assert status == 413 and payload["error"] == "too_large", payload
    # The server answered before the body was sent: only what socket buffers absorbed ever left the client.
    assert sent < 64 * MB, sent
    assert live.stored_files() == []


@pytest.mark.parametrize(
    "live_server", [{"MEDIA_MAX_REQUEST_BYTES": 12 * MB, "MEDIA_MAX_VIDEO_BYTES": 12 * MB}], indirect=True
)
def test_chunked_body_over_the_limit_is_refused_not_truncated(live_server):
    live = live_server
    token = live.login("openid-chunked").headers["Authorization"].split()[1]
    limit = live.app.config["MEDIA_MAX_REQUEST_BYTES"]
    status, payload, _sent = raw_upload(
        live, token, multipart_head("wx110boundary", "v.mp4"), declared=None, total=limit + 8 * MB
    )
    assert status == 413 and payload["error"] == "too_large", payload
    assert live.stored_files() == []


def padded_mp4(path, pad_bytes: int):
    """A real short MP4 followed by a large top-level `free` box: a valid file of any size, made instantly."""
    make_mp4(path, seconds=1)
    with path.open("ab") as out:
        out.write((pad_bytes + 8).to_bytes(4, "big") + b"free")
        block = b"\x00" * MB
        for _ in range(pad_bytes // MB):
            out.write(block)
        out.write(b"\x00" * (pad_bytes % MB))
    return path


def streamed_multipart(path, boundary: str = "wx110boundary"):
    """The multipart body of one file, produced a chunk at a time (requests sends it chunked)."""
    yield multipart_head(boundary, path.name, "video/mp4")
    with path.open("rb") as stream:
        while chunk := stream.read(MB):
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def test_large_video_streams_to_storage_with_small_memory(live_server, tmp_path):
    live = live_server
    session = live.login("openid-streamer")
    video = padded_mp4(tmp_path / "long.mp4", 64 * MB)
    size = video.stat().st_size
    tracemalloc.start()
    try:
        answer = session.post(
            live.api("/uploads"),
            data=streamed_multipart(video),
            headers={"Content-Type": "multipart/form-data; boundary=wx110boundary"},
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 201, answer.text
    assert answer.json()["size"] == size
    # Client and server share this process; their buffers together stay a fixed few MB, not the file's size.
    assert peak < 16 * MB < size / 4, (peak, size)


@pytest.mark.parametrize(
    "name, content, reason, status",
    [
        ("evidence.mp4", ELF_HEADER, "upload_unsupported_type", 415),
        ("photo.jpg", b"<html><script>alert(1)</script></html>", "upload_unsupported_type", 415),
        ("photo.jpg", jpeg_with_gps() + zip_bytes(), "upload_polyglot", 422),
        ("photo.png", png_bytes() + b"<html><body>hi</body></html>", "upload_polyglot", 422),
        ("bomb.png", png_bomb(), "upload_too_many_pixels", 422),
        ("photo.jpg", jpeg_with_gps()[:4000], "upload_corrupt", 422),
        ("empty.jpg", b"", "upload_empty", 422),
    ],
)
def test_disguised_or_hostile_files_are_refused_and_nothing_is_kept(live_server, name, content, reason, status):
    live = live_server
    session = live.login("openid-hostile")
    answer = session.post(live.api("/uploads"), files={"file": (name, content, "image/jpeg")})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == reason
    assert answer.json()["fields"]["file"]
    assert live.stored_files() == []


@pytest.mark.parametrize("live_server", [{"MEDIA_MAX_VIDEO_SECONDS": 1.5}], indirect=True)
def test_video_over_the_duration_limit_is_refused(live_server, tmp_path):
    live = live_server
    session = live.login("openid-long")
    video = make_mp4(tmp_path / "three.mp4", seconds=3)
    answer = session.post(live.api("/uploads"), files={"file": ("three.mp4", video.read_bytes(), "video/mp4")})
    assert answer.status_code == 422 and answer.json()["error"] == "upload_too_long"
    assert live.stored_files() == []


@pytest.mark.parametrize("live_server", [{"MEDIA_MAX_IMAGE_BYTES": 50_000}], indirect=True)
def test_photo_over_its_own_size_limit_is_refused_with_413(live_server):
    live = live_server
    session = live.login("openid-heavy")
    noisy = io.BytesIO()
    Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3)).save(noisy, format="JPEG", quality=95)
    noisy = noisy.getvalue()  # a real JPEG that noise makes larger than the photo limit
    assert len(noisy) > 50_000
    answer = session.post(live.api("/uploads"), files={"file": ("big.jpg", noisy, "image/jpeg")})
    assert answer.status_code == 413 and answer.json()["error"] == "upload_too_large"
    assert live.stored_files() == []


def test_a_report_takes_at_most_eight_photos_and_only_own_uploads(live_server):
    live = live_server
    owner, other = live.login("openid-photos"), live.login("openid-thief")
    ids = []
    for index in range(9):
        answer = owner.post(
            live.api("/uploads"), files={"file": (f"p{index}.png", png_bytes((20 + index, 20)), "image/png")}
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    too_many = owner.post(live.api("/incidents"), json={"description": "车被砸了", "attachments": ids})
    assert too_many.status_code == 409
    assert too_many.json()["fields"] == {"attachments": ["每次报警最多上传8张照片"]}
    stolen = other.post(live.api("/incidents"), json={"description": "我的证据", "attachments": ids[:1]})
    assert stolen.status_code == 409 and stolen.json()["fields"] == {"attachments": {"0": ["附件不存在或已被使用"]}}
    eight = owner.post(live.api("/incidents"), json={"description": "车被砸了", "attachments": ids[:8]})
    assert eight.status_code == 201 and len(eight.json()["attachments"]) == 8
    reused = owner.post(live.api("/incidents"), json={"description": "再报一次", "attachments": ids[:1]})
    assert reused.status_code == 409


def test_abandoned_uploads_are_swept_but_evidence_stays(live_server):
    live = live_server
    session = live.login("openid-sweep")
    kept = session.post(live.api("/uploads"), files={"file": ("a.png", png_bytes(), "image/png")}).json()
    abandoned = session.post(live.api("/uploads"), files={"file": ("b.png", png_bytes((30, 30)), "image/png")})
    assert session.post(live.api("/incidents"), json={"description": "证据", "attachments": [kept["id"]]}).ok
    assert len(live.stored_files()) == 4  # two originals, two previews
    with live.app.app_context():
        # As if the process died after attaching but before marking the upload used: still evidence, kept.
        db.session.get(Upload, kept["id"]).attachment_id = None
        db.session.commit()
        clock.freeze(clock.now() + timedelta(hours=live.app.config["MEDIA_UPLOAD_KEEP_HOURS"] + 1))
        assert upload_sweep.sweep_abandoned_uploads() == 1
        assert db.session.get(Upload, abandoned.json()["id"]) is None
    assert len(live.stored_files()) == 2
    leftover = live.media_root / ".spool" / ".upload-dead"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"half a body")
    os.utime(leftover, (time.time() - 7 * 3600, time.time() - 7 * 3600))
    with live.app.app_context():
        assert upload_sweep.sweep_abandoned_uploads() == 0
    assert not leftover.exists() and len(live.stored_files()) == 2


def test_malformed_upload_requests_get_clear_errors(live_server):
    live = live_server
    session = live.login("openid-malformed")
    url = live.api("/uploads")
    two = session.post(
        url, files=[("file", ("a.png", png_bytes(), "image/png")), ("file", ("b.png", png_bytes(), "image/png"))]
    )
    assert (two.status_code, two.json()["error"]) == (422, "upload_too_many_files")
    other_field = session.post(url, files={"photo": ("a.png", png_bytes(), "image/png")})
    assert (other_field.status_code, other_field.json()["error"]) == (422, "upload_unexpected_field")
    extra = session.post(url, files={"file": ("a.png", png_bytes(), "image/png")}, data={"note": "x"})
    assert (extra.status_code, extra.json()["error"]) == (422, "upload_unexpected_field")
    as_json = session.post(url, json={"file": "aGVsbG8="})
    assert (as_json.status_code, as_json.json()["error"]) == (422, "upload_not_multipart")
    no_boundary = session.post(url, data=b"--x\r\n", headers={"Content-Type": "multipart/form-data"})
    assert no_boundary.status_code == 422 and no_boundary.json()["error"] == "upload_no_file"
    cut = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n' + png_bytes()[:50]
    truncated = session.post(url, data=cut, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert truncated.status_code == 422, truncated.text
    assert live.stored_files() == []
