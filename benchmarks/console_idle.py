"""Idle consoles against the WeChat callback: the callback's p99 with no console open, with 200 logged-in
consoles polling the queue as the page does (htmx, every 2 s, carrying the version of the rows it holds: an
unchanged queue answers 204), and, for comparison, with 200 consoles that fetch the whole rows every time.

One gunicorn with the README's production settings (`-w 4 -k gthread --threads 8`, WECHAT_REPLY_MODE=queued) on
PostgreSQL and Redis serves both. The consoles poll from a separate process (asyncio, one connection per poll as
a browser does once gunicorn's 2 s keep-alive has lapsed), so that their client work does not stall the
callback's own clock. The callback load is open-loop at RATE requests/s (latency counted from each request's
scheduled time); each condition is measured ROUNDS times, interleaved, and its p99 is the median of its rounds.
Target: p99 with 200 idle consoles <= 1.2x the p99 with none.

    .venv/bin/python benchmarks/console_idle.py   (env: BENCH_PG_ADMIN_URL, BENCH_REDIS_URL, BENCH_RATE, ...)
"""

import asyncio
import http.client
import json
import os
import queue
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE", "wx110_bench_console_idle")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("BENCH_GUNICORN", "--workers 4 --worker-class gthread --threads 8")  # the README's

import requests  # noqa: E402

from benchmarks import wechat_callback as callback  # noqa: E402
from wechat.fake import FakeWeChat  # noqa: E402

CONSOLES = int(os.environ.get("BENCH_CONSOLES", "200"))
POLL_SECONDS = 2.0  # hx-trigger="every 2s" in console/templates/console/_rows.html
RATE = float(os.environ.get("BENCH_RATE", "40"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", "60"))
# Which conditions to measure ("none,idle" leaves out the naive consoles, whose backlog can spill into the next round)
CONDITIONS = tuple(os.environ.get("BENCH_CONDITIONS", "none,idle,naive").split(","))
BADGES = ("100007", "100001", "100002", "100006")  # command centre, city dispatcher, two station officers
PASSWORD = "wx110-demo"
SETTLE = 10.0  # every console has polled once and caught up with the rows since its login
# The browser of every session (Flask-Login's strong session protection ties a session to it): the login's.
USER_AGENT = requests.utils.default_user_agent()


def prepare(env: dict, openids: list[str]) -> None:
    """Migrate, load the demo world and some incidents in every status, register the reporting citizens."""
    script = (
        "import sys\nfrom flask_migrate import upgrade\nfrom server import create_app\n"
        "from casework import citizens, incidents, seed\nfrom casework.db import db\n"
        "from casework.status import Channel\n"
        "app = create_app()\nwith app.app_context():\n    upgrade()\n    seed.load_categories()\n"
        "    seed.load_world()\n    db.session.commit()\n    lines = sys.stdin.read().split()\n"
        "    count = int(lines[0])\n    someone = citizens.identify(oa_openid='o-bench-console')\n"
        "    plates = ['DH-0001', 'XH-0001', 'JB-0001', 'DH-0002']\n"
        "    for n in range(count):\n"
        "        incidents.report(citizen=someone, channel=Channel.WECHAT, description=f'压测警情 {n}',"
        " doorplate=seed.doorplate(plates[n % 4]))\n"
        "    for openid in lines[1:]:\n        citizens.identify(oa_openid=openid)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        input="\n".join([str(INCIDENTS), *openids]),
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
    )


def log_in(port: int, badge: str) -> tuple[str, str]:
    """One console session: (its cookie, the rows URL its queue page polls)."""
    base = f"http://127.0.0.1:{port}"
    browser = requests.Session()
    page = browser.get(f"{base}/console/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    queue = browser.post(
        f"{base}/console/login", data={"badge_no": badge, "password": PASSWORD, "csrf_token": token}, timeout=30
    )
    poll = re.search(r'hx-get="([^"]+)"', queue.text).group(1).replace("&amp;", "&")
    return browser.cookies.get("wx110_console"), poll


# -- the consoles, in a process of their own -----------------------------------------------------------------


async def _console(port: int, cookie: str, url: str, naive: bool, until: float, counts: dict) -> None:
    await asyncio.sleep(random.uniform(0, POLL_SECONDS))
    path = urlsplit(url)._replace(scheme="", netloc="").geturl()
    if naive:
        path = re.sub(r"[?&]v=[^&]*", "", path)
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: wx110_console={cookie}\r\n"
                f"User-Agent: {USER_AGENT}\r\nHX-Request: true\r\nConnection: close\r\n\r\n".encode()
            )
            answer = await reader.read()
            writer.close()
            status = int(answer.split(b" ", 2)[1])
            counts[status] = counts.get(status, 0) + 1
            if status == 200 and not naive:
                found = re.search(rb'hx-get="([^"]+)"', answer)
                path = found.group(1).decode().replace("&amp;", "&")
        except (OSError, ValueError, IndexError):
            counts["error"] = counts.get("error", 0) + 1
        await asyncio.sleep(max(0.0, POLL_SECONDS - (time.monotonic() - started)))


async def _consoles(port: int, sessions: list, naive: bool, seconds: float) -> dict:
    counts: dict = {}
    until = time.monotonic() + seconds
    await asyncio.gather(*(_console(port, cookie, url, naive, until, counts) for cookie, url in sessions))
    return counts


def consoles_main() -> None:
    """`console_idle.py --consoles PORT naive|conditional SECONDS`, the sessions as JSON on stdin."""
    port, mode, seconds = int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    counts = asyncio.run(_consoles(port, json.load(sys.stdin), mode == "naive", seconds))
    print(json.dumps({str(k): v for k, v in counts.items()}))


def start_consoles(port: int, sessions: list, mode: str, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, __file__, "--consoles", str(port), mode, str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    process.stdin.write(json.dumps(sessions))
    process.stdin.close()
    return process


def finish(process: subprocess.Popen) -> dict:
    """What the consoles' process counted (it ends by itself when its time is up)."""
    output = process.stdout.read()
    process.wait(timeout=60)
    return json.loads(output)


def open_loop(port: int, prepared: list[tuple[str, bytes]]) -> tuple[float, float, int]:
    """(p50, p99) callback latency in ms at RATE requests/s from each request's scheduled time, and how many
    answers were not 200. A connection that gunicorn closed after its keep-alive is opened again (the time that
    takes counts), so that no request drops out of the figures."""
    work: queue.Queue = queue.Queue()
    latencies, failures = [], [0]
    lock = threading.Lock()

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while (item := work.get()) is not None:
            scheduled, path, body = item
            for _attempt in range(3):
                try:
                    status = callback._send(connection, path, body)
                    break
                except (http.client.HTTPException, OSError):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            else:
                status = 0
            with lock:
                latencies.append(time.perf_counter() - scheduled)
                failures[0] += status != 200

    threads = [threading.Thread(target=client) for _ in range(32)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.05
    for index, (path, body) in enumerate(prepared):
        scheduled = start + index / RATE
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        work.put((scheduled, path, body))
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    latencies.sort()
    return latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000, failures[0]


# -- the measurement ------------------------------------------------------------------------------------------


def main() -> None:
    fake = FakeWeChat().start()
    db_url = callback.database_url()
    env = {**callback.environment(db_url, fake.base_url), "CONSOLE_SECURE_COOKIES": "0"}  # plain HTTP here
    env["WECHAT_REPLY_MODE"] = "queued"
    from redis import Redis

    Redis.from_url(callback.REDIS_URL).flushdb()
    per_phase = int(RATE * SECONDS)
    conditions = CONDITIONS
    assert {"none", "idle"} <= set(conditions) <= {"none", "idle", "naive"}, "BENCH_CONDITIONS: none,idle[,naive]"
    openids = [f"o-idle-{i:06d}" for i in range((1 + ROUNDS * len(conditions)) * per_phase)]
    print(f"preparing: database {callback.DATABASE}, {INCIDENTS} incidents, {len(openids)} citizens ...", flush=True)
    prepare(env, openids)
    served = callback.Served("wsgi:app", env)
    try:
        sessions = [log_in(served.port, BADGES[n % len(BADGES)]) for n in range(CONSOLES)]
        print(f"{CONSOLES} consoles logged in; gunicorn {' '.join(callback.GUNICORN)}", flush=True)
        batches = iter(range(0, len(openids), per_phase))

        def paced() -> tuple[float, float, int]:
            first = next(batches)
            prepared = callback.build_requests(7 * 10**15 + first, openids[first : first + per_phase], "safe")
            return open_loop(served.port, prepared)

        paced()  # warm-up
        results: dict[str, list[float]] = {name: [] for name in conditions}
        for round_ in range(ROUNDS):
            # every other round in reverse order, so that a drift of the machine's load weighs on each alike
            for condition in conditions if round_ % 2 == 0 else conditions[::-1]:
                pollers = None
                if condition != "none":
                    mode = "naive" if condition == "naive" else "conditional"
                    pollers = start_consoles(served.port, sessions, mode, SECONDS + 2 * SETTLE)
                    time.sleep(SETTLE)
                p50, p99, failed = paced()
                polled = finish(pollers) if pollers else {}
                if pollers:
                    time.sleep(SETTLE)  # whatever the consoles left queued in gunicorn is served before what follows
                results[condition].append(p99)
                print(
                    f"round {round_ + 1} {condition:5s}: callback p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                    f"non-200 {failed}   console polls by status: {polled}",
                    flush=True,
                )
    finally:
        served.stop()
        fake.stop()
    median = {name: statistics.median(results[name]) for name in conditions}
    none, idle = median["none"], median["idle"]
    print()
    print(f"settings: {RATE:.0f} callbacks/s for {SECONDS:.0f} s per round, {ROUNDS} rounds, {os.cpu_count()} CPUs")
    print(f"callback p99 (median of rounds): none {none:.1f} ms, {CONSOLES} idle consoles {idle:.1f} ms")
    paired = ", ".join(f"{r:.2f}" for r in sorted(i / n for i, n in zip(results["idle"], results["none"], strict=True)))
    print(f"ratio idle / none:  {idle / none:.2f}  (target <= 1.20); each round's: {paired}")
    if "naive" in median:
        print(f"  {CONSOLES} consoles re-reading every poll {median['naive']:.1f} ms")
        print(f"ratio naive / none: {median['naive'] / none:.2f}  (without the 204 answer, for comparison)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--consoles"]:
        consoles_main()
    else:
        main()
