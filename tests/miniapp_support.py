"""Shared helpers for the mini-program tests: a running wx110 server on a real socket beside a fake WeChat,
logins, and real media files made on the spot (an H.264 MP4 with PyAV, photos with Pillow)."""

import io
import os
import struct
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import pytest
import requests
from PIL import Image

from casework.db import db
from tests.live_server import serving
from wechat.fake import FakeWeChat

API = "/api/miniapp/v1"


@dataclass
class LiveServer:
    app: object
    url: str
    fake: FakeWeChat
    media_root: Path

    def api(self, path: str) -> str:
        return f"{self.url}{API}{path}"

    def login(self, openid: str) -> requests.Session:
        """A requests session carrying the bearer token of the citizen behind `openid`."""
        answer = requests.post(self.api("/session"), json={"code": f"code-{openid}"}, timeout=10)
        assert answer.status_code == 201, answer.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        return session

    def stored_files(self) -> list[Path]:
        """Every file in evidence storage, spool directory included."""
        return sorted(p for p in self.media_root.rglob("*") if p.is_file())


@pytest.fixture
def live_server(make_app, fake_wechat, tmp_path, request):
    """wx110 served by Werkzeug on a free loopback port, on the test database, with WeChat faked."""
    overrides = getattr(request, "param", {}) or {}
    media_root = tmp_path / "media"
    # A fresh app id per test: the WeChat client caches tokens per app id in-process; each test has its own fake.
    app = make_app(
        WECHAT_API_BASE=fake_wechat.base_url,
        MINIAPP_APPID=f"wx-{uuid.uuid4().hex[:8]}",
        MINIAPP_SECRET="s",
        MEDIA_ROOT=str(media_root),
        MINIAPP_PROGRESS_TEMPLATE_ID="tmpl-progress",
        **overrides,
    )
    with serving(app) as base_url:
        yield LiveServer(app=app, url=base_url, fake=fake_wechat, media_root=media_root)
    with app.app_context():
        db.session.remove()


def make_mp4(path: Path, *, seconds: float = 1.0, size=(160, 120), fps: int = 10, noise: bool = False) -> Path:
    """A real H.264 MP4 of a moving gradient (or of noise, losslessly coded, to make a large file quickly)."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"crf": "0", "preset": "ultrafast"} if noise else {"preset": "ultrafast"}
        for index in range(int(seconds * fps)):
            if noise:
                image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
            else:
                image = Image.linear_gradient("L").resize(size).convert("RGB")
                image.paste((index * 20 % 256, 90, 160), (0, 0, 20 + index * 4, 30))
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def jpeg_with_gps(size=(640, 480)) -> bytes:
    """A photo carrying an EXIF GPS position, as a phone camera writes it."""
    image = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    gps = {1: "N", 2: (30.0, 16.0, 27.0), 3: "E", 4: (120.0, 9.0, 18.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=85)
    return out.getvalue()


def png_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def png_bomb(width: int = 20000, height: int = 10000) -> bytes:
    """A small, valid PNG that declares width x height pixels (200 megapixels by default)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<html><script>alert(1)</script></html>")
    return out.getvalue()


ELF_HEADER = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 4000
