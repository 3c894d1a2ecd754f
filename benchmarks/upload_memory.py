"""Peak memory of the upload path: a ~200 MB video streamed to a running wx110 server.

Starts the server in a child process (Werkzeug, SQLite, a loopback fake WeChat), samples the child's resident
memory while a small video (the baseline) and then a ~200 MB video are uploaded, and prints the peak growth of
each against the file size. The video is real H.264 (noise frames, losslessly coded, so it is large quickly).

    .venv/bin/python benchmarks/upload_memory.py [--mb 200]
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
BOUNDARY = "wx110benchboundary"


def serve(workdir: Path) -> None:
    """Child process: a migrated SQLite app on a free port; prints the port and serves until killed."""
    sys.path.insert(0, str(ROOT))  # the child imports the app; the parent only drives it over HTTP
    from flask import request
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from server import create_app
    from wechat.fake import FakeWeChat

    fake = FakeWeChat().start()
    app = create_app(
        {
            "TESTING": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "REDIS_URL": None,
            "INLINE_TIMER": False,
            "MEDIA_ROOT": str(workdir / "media"),
            "WECHAT_API_BASE": fake.base_url,
            "MINIAPP_APPID": "wx-bench",
            "MINIAPP_SECRET": "s",
            "MINIAPP_RATE_LIMITS": {},
        }
    )
    with app.app_context():
        upgrade()

    def naive_upload():
        # The contrast: what reading the body at once costs (never done by wx110 itself).
        return {"size": len(request.get_data())}, 201

    app.add_url_rule("/bench/naive", "bench_naive", naive_upload, methods=["POST"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def make_video(path: Path, target_bytes: int) -> Path:
    import av
    from PIL import Image

    size = (1280, 720)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 25)
        stream.options = {"crf": "0", "preset": "ultrafast"}
        index = written = 0
        while written < target_bytes and index < 25 * 240:
            frame = av.VideoFrame.from_image(Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)))
            frame.pts = index
            index += 1
            for packet in stream.encode(frame):
                written += packet.size
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Sampler:
    """Samples a process's resident memory every few milliseconds and keeps the peak."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def __enter__(self):
        self.before = rss(self.pid)
        self.peak = self.before
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.before


def upload(port: int, token: str, path: Path, route: str = "/api/miniapp/v1/uploads") -> dict:
    """Stream one file as multipart with a Content-Length, 1 MiB at a time."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body():
        yield head
        with path.open("rb") as stream:
            while chunk := stream.read(MB):
                yield chunk
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request(
        "POST",
        route,
        body=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
        },
    )
    response = connection.getresponse()
    answer = json.loads(response.read())
    if response.status != 201:
        raise SystemExit(f"upload failed: {response.status} {answer}")
    return answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return
    with tempfile.TemporaryDirectory(prefix="wx110-bench-") as tmp:
        workdir = Path(tmp)
        small = make_video(workdir / "small.mp4", 2 * MB)
        large = make_video(workdir / "large.mp4", args.mb * MB)
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(workdir)], stdout=subprocess.PIPE, cwd=ROOT, text=True
        )
        try:
            port = int(child.stdout.readline())
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request(
                "POST",
                "/api/miniapp/v1/session",
                body=json.dumps({"code": "code-bench"}),
                headers={"Content-Type": "application/json"},
            )
            token = json.loads(connection.getresponse().read())["token"]
            upload(port, token, small)  # warm up: imports, first decoder use, database connection
            results = []
            for label, path, route in (
                ("small", small, "/api/miniapp/v1/uploads"),
                ("large", large, "/api/miniapp/v1/uploads"),
                ("naive", large, "/bench/naive"),
            ):
                with Sampler(child.pid) as sampler:
                    started = time.monotonic()
                    answer = upload(port, token, path, route)
                    seconds = time.monotonic() - started
                results.append((label, path.stat().st_size, sampler.growth, seconds, answer))
        finally:
            child.terminate()
            child.wait(10)
    print(f"{'upload':<8}{'size MB':>10}{'peak RSS growth MB':>20}{'growth/size':>13}{'seconds':>9}{'MB/s':>8}")
    for label, size, growth, seconds, _answer in results:
        print(
            f"{label:<8}{size / MB:>10.1f}{growth / MB:>20.1f}{growth / size:>13.3f}{seconds:>9.2f}"
            f"{size / MB / seconds:>8.1f}"
        )
    small_row, large_row, naive_row = results
    print(
        f"large video ({large_row[4]['meta']['codec']}, {large_row[4]['meta']['duration']} s): streamed peak "
        f"growth / file size = {large_row[2] / large_row[1]:.3f}; small-file baseline = "
        f"{small_row[2] / small_row[1]:.3f}; reading the body at once = {naive_row[2] / naive_row[1]:.3f}"
    )


if __name__ == "__main__":
    main()
