"""Peak memory of the upload path.

Video (the default): a ~200 MB video streamed to a running wx110 server. Starts the server in a child process
(Werkzeug, SQLite, a loopback fake WeChat), samples the child's resident memory while a small video (the
baseline) and then a ~200 MB video are uploaded, and prints the peak growth of each against the file size. The
video is real H.264 (noise frames, losslessly coded, so it is large quickly).

Photos (`--photos 50`): that many parallel uploads of one 7000x7000 JPEG (under 1 MB, within the pixel limit)
against gunicorn (2 workers x 8 threads, PostgreSQL), sampling the resident memory of all gunicorn processes
together: the peak growth during the uploads and what is still held a few seconds after, against the 256 MB
bound.

    .venv/bin/python benchmarks/upload_memory.py [--mb 200]
    .venv/bin/python benchmarks/upload_memory.py --photos 50 [--edge 7000]   (env: BENCH_PG_ADMIN_URL)
"""

import argparse
import concurrent.futures
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


def group_rss(leader: int) -> int:
    """Resident memory of a process and its children (gunicorn's arbiter and workers), summed."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            pid, ppid = int(status.parent.name), int(fields[1])
            if pid == leader or ppid == leader:
                total += rss(pid)
        except (OSError, ValueError, IndexError, RuntimeError):
            continue  # a process that ended while being read
    return total


class Sampler:
    """Samples a process's resident memory every few milliseconds and keeps the peak."""

    def __init__(self, pid: int, measure=rss):
        self.pid, self.peak, self.stop, self.measure = pid, 0, threading.Event(), measure

    def __enter__(self):
        self.before = self.measure(self.pid)
        self.peak = self.before
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.measure(self.pid))
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.before


def upload(
    port: int, token: str, path: Path, route: str = "/api/miniapp/v1/uploads", content_type: str = "video/mp4"
) -> dict:
    """Stream one file as multipart with a Content-Length, 1 MiB at a time."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
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


BOUND = 256 * MB
GUNICORN = "--workers 2 --worker-class gthread --threads 8 --log-level warning --timeout 120".split()
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
PHOTO_DATABASE = os.environ.get("BENCH_DATABASE", "wx110_bench_photos")


def make_photo(path: Path, edge: int) -> Path:
    """A JPEG of edge x edge pixels that compresses well (a smooth gradient), as the issue's 0.77 MB one."""
    from PIL import Image

    Image.radial_gradient("L").resize((edge, edge)).convert("RGB").save(path, format="JPEG", quality=85)
    return path


def photos(count: int, edge: int) -> None:
    import psycopg

    from wechat.fake import FakeWeChat

    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{PHOTO_DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{PHOTO_DATABASE}"')
    fake = FakeWeChat().start()
    with tempfile.TemporaryDirectory(prefix="wx110-bench-") as tmp:
        workdir = Path(tmp)
        photo = make_photo(workdir / "large.jpg", edge)
        photo_mb = photo.stat().st_size / MB
        env = {
            **os.environ,
            "DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + f"/{PHOTO_DATABASE}",
            "REDIS_URL": "",
            "INLINE_TIMER": "0",
            "MEDIA_ROOT": str(workdir / "media"),
            "WECHAT_API_BASE": fake.base_url,
            "MINIAPP_APPID": "wx-bench",
            "MINIAPP_SECRET": "s",
            "MINIAPP_RATE_LIMITS": f"upload={count * 4}/60",
            "MEDIA_MAX_PENDING_UPLOADS": str(count * 4),
            "WX110_ENV_FILE": str(workdir / "none.env"),
            "PYTHONPATH": str(ROOT),
            "AUDIT_MAC_KEYS": "bench:benchmark-audit-key-0123456789",
        }
        (workdir / "none.env").write_text("")
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            _wait_for(port)
            token = _login(port)
            with concurrent.futures.ThreadPoolExecutor(16) as pool:  # warm both workers: imports, decoder, pool
                list(pool.map(lambda _: upload(port, token, photo, content_type="image/jpeg"), range(16)))
            time.sleep(2)
            with Sampler(server.pid, group_rss) as sampler:
                started = time.monotonic()
                with concurrent.futures.ThreadPoolExecutor(count) as pool:
                    answers = list(
                        pool.map(lambda _: upload(port, token, photo, content_type="image/jpeg"), range(count))
                    )
                seconds = time.monotonic() - started
            time.sleep(5)
            after = group_rss(server.pid) - sampler.before
        finally:
            os.killpg(server.pid, 15)
            server.wait(30)
            fake.stop()
    assert all(answer["meta"]["width"] == edge for answer in answers), answers[:1]
    print(
        f"{count} parallel uploads of a {edge}x{edge} JPEG ({photo_mb:.2f} MB) to gunicorn 2x8 threads, {seconds:.1f} s"
    )
    print(f"server RSS before: {sampler.before / MB:.1f} MB")
    print(f"peak growth:       {sampler.growth / MB:.1f} MB  ({sampler.growth / BOUND:.2f} of the 256 MB bound)")
    print(f"held 5 s after:    {after / MB:.1f} MB  ({after / BOUND:.2f} of the 256 MB bound)")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _login(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        "/api/miniapp/v1/session",
        body=json.dumps({"code": "code-bench"}),
        headers={"Content-Type": "application/json"},
    )
    return json.loads(connection.getresponse().read())["token"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--photos", type=int, default=0, help="parallel uploads of one large JPEG instead")
    parser.add_argument("--edge", type=int, default=7000, help="the JPEG's width and height in pixels")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return
    if args.photos:
        sys.path.insert(0, str(ROOT))
        photos(args.photos, args.edge)
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
