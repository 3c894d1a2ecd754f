"""Callback throughput and p99 latency for a safe-mode text report, against two baselines in the same run.

Apps served by gunicorn with identical settings on PostgreSQL (and Redis for wx110):
  real     the wx110 app in queued reply mode (WECHAT_REPLY_MODE=queued, what production runs): verify, decrypt,
           parse, one transaction capturing the message and its job, `success`; the job is relayed to rq;
  minimal  decrypt, one INSERT + COMMIT, encrypted answer (benchmarks/callback_baselines.py);
  bare     a Flask endpoint answering `success`;
  inline   (information only, BENCH_INLINE=0 skips it) the wx110 app handling the report inside the callback.
Each is measured twice: closed-loop throughput (CONCURRENCY clients sending as fast as answers come back) and
open-loop latency at a fixed RATE (requests are sent on schedule; latency counts from the scheduled time, so
a slow server cannot hide queueing). Every request is a distinct, pre-signed message from a distinct citizen.

In queued mode the callback's answer is not the end of the work: after the real app's run, WORKERS
`flask worker` processes are started on the captured backlog (rq suspended until all are ready, so that their
start-up is timed apart) and timed until the queues are empty, which gives how many reports per second the
deployment turns into incidents and pushed replies (end-to-end capacity; BENCH_WORKER_ARGS="" measures rq's
default forking worker, which pays a fork and reconnects per job).

Targets: real throughput >= 0.5 x minimal; real p99 < 100 ms at 150 requests/s.

Usage: python benchmarks/wechat_callback.py   (env: BENCH_PG_ADMIN_URL, BENCH_REDIS_URL, BENCH_REQUESTS, ...)
"""

import http.client
import logging
import os
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wechat import simulator  # noqa: E402 - after the path is set
from wechat.fake import FakeWeChat  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DATABASE = os.environ.get("BENCH_DATABASE", "wx110_bench")
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1500"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
RATE = float(os.environ.get("BENCH_RATE", "150"))
RATE_SECONDS = float(os.environ.get("BENCH_RATE_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
WORKER_ARGS = os.environ.get("BENCH_WORKER_ARGS", "--burst --no-fork").split()
# Workers run at a lower CPU priority than the web processes, so that on shared cores a backlog of jobs never
# delays the callback's answer (WeChat waits 5 s); `nice` 0 shows what happens without that.
WORKER_NICE = int(os.environ.get("BENCH_WORKER_NICE", "10"))
INLINE = os.environ.get("BENCH_INLINE", "1") not in ("0", "no", "false")
GUNICORN = os.environ.get("BENCH_GUNICORN", "--workers 2 --worker-class gthread --threads 8").split()
KEYS = simulator.Keys("bench-token", "g3IEIbXeKbk0nYM3noR73T4GUV25WvP4tQIq33QnJLA", "wxbench0000000001")


def database_url() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{DATABASE}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(db_url: str, api_base: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "WECHAT_TOKEN": KEYS.token,
        "WECHAT_AES_KEY": KEYS.aes_key,
        "WECHAT_APPID": KEYS.appid,
        "WECHAT_SECRET": "bench",
        "WECHAT_API_BASE": api_base,
        "PYTHONPATH": str(ROOT),
        "INLINE_TIMER": "0",
    }


def prepare(env: dict, openids: list[str]) -> None:
    """Migrate the benchmark database and register the citizens (reports usually come from known followers)."""
    script = (
        "import sys\nfrom flask_migrate import upgrade\nfrom server import create_app\nfrom casework import citizens\n"
        "from casework.db import db\napp = create_app()\n"
        "with app.app_context():\n    upgrade()\n"
        "    for openid in sys.stdin.read().split():\n        citizens.identify(oa_openid=openid)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        input="\n".join(openids),
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class Served:
    def __init__(self, target: str, env: dict):
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                *GUNICORN,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                target,
            ],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{target} did not start")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def build_requests(first_msg_id: int, openids: list[str], mode: str) -> list[tuple[str, bytes]]:
    built = []
    for index, openid in enumerate(openids):
        fields = simulator.message("text", openid, f"压测报警 {index}:小区门口有人争吵", msg_id=first_msg_id + index)
        query, body = simulator.signed(fields, KEYS, mode=mode)
        built.append((f"/wechat?{urlencode(query)}", body))
    return built


def _send(connection: http.client.HTTPConnection, path: str, body: bytes) -> int:
    connection.request("POST", path, body=body, headers={"Content-Type": "text/xml"})
    response = connection.getresponse()
    response.read()
    return response.status


def closed_loop(port: int, prepared: list[tuple[str, bytes]]) -> tuple[float, int]:
    """Requests per second with CONCURRENCY clients; and how many answers were not 200."""
    work: queue.Queue = queue.Queue()
    for item in prepared:
        work.put(item)
    failures = [0]

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            try:
                path, body = work.get_nowait()
            except queue.Empty:
                return
            if _send(connection, path, body) != 200:
                failures[0] += 1

    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(prepared) / (time.perf_counter() - started), failures[0]


def open_loop(port: int, prepared: list[tuple[str, bytes]]) -> tuple[float, float, int]:
    """(p50, p99) latency in ms at RATE requests/s, measured from each request's scheduled send time."""
    work: queue.Queue = queue.Queue()
    latencies, failures = [], [0]
    lock = threading.Lock()

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while (item := work.get()) is not None:
            scheduled, path, body = item
            status = _send(connection, path, body)
            with lock:
                latencies.append(time.perf_counter() - scheduled)
                failures[0] += status != 200

    threads = [threading.Thread(target=client) for _ in range(64)]
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
    return (latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000, failures[0])


def _proc_stat(pid: str | int) -> tuple[str, list[str]] | None:
    """A process's name and the fields of /proc/PID/stat after it; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            raw = stat.read()
    except OSError:
        return None
    return raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()


def _seconds(fields: list[str], *, children: bool) -> float:
    """utime + stime (and, with `children`, cutime + cstime), in seconds."""
    return sum(int(value) for value in fields[11 : 15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds_of(command: str) -> float | None:
    """User + system CPU seconds used so far by the processes named `command` (and their reaped children), from
    /proc; None where there is no /proc. A backend that exits is counted in its postmaster's children's times."""
    try:
        pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return None
    found = (_proc_stat(pid) for pid in pids)
    return sum(_seconds(fields, children=True) for name, fields in filter(None, found) if name == command)


def cpu_seconds_of_pids(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc; 0 where there is none)."""
    return sum(_seconds(found[1], children=False) for found in map(_proc_stat, pids) if found is not None)


def drain(env: dict, db_url: str) -> tuple[int, float, float, int, int]:
    """Run WORKERS worker processes on the backlog; (messages waiting, seconds from their start, seconds from the
    moment all were ready, incidents, jobs not done). The workers start while rq is suspended, so that their
    start-up (importing the app, connecting) is timed apart from the work: capacity is the steady rate, and the
    time from the start is printed beside it. Also prints the CPU time the workers used on the work: on shared
    cores, a figure that other people's load does not change."""
    from redis import Redis
    from rq import Queue, Worker
    from rq.registry import StartedJobRegistry
    from rq.suspension import resume, suspend

    redis = Redis.from_url(REDIS_URL)
    inbound = Queue("inbound", connection=redis)
    waiting = inbound.count
    queues = [Queue(name, connection=redis) for name in ("inbound", "default", "notify", "media")]

    def busy() -> bool:
        return any(q.count or StartedJobRegistry(queue=q).count for q in queues)

    suspend(redis)
    started = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", *[a for a in WORKER_ARGS if a != "--burst"]],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(WORKERS)
    ]
    pids = [process.pid for process in workers]
    try:
        while Worker.count(connection=redis) < WORKERS:
            if any(process.poll() is not None for process in workers):
                raise RuntimeError("a worker exited while starting")
            time.sleep(0.05)
        time.sleep(0.5)  # registered; let them reach the suspension check
        cpu_before, own_before = cpu_seconds_of_pids(pids), resource.getrusage(resource.RUSAGE_SELF)
        postgres_before = cpu_seconds_of("postgres")
        ready = time.perf_counter()
        resume(redis)
        while busy() or (time.sleep(0.02) or busy()):  # idle twice in a row: not between a dequeue and its start
            time.sleep(0.02)
        finished = time.perf_counter()
        cpu = cpu_seconds_of_pids(pids) - cpu_before
        own_after, postgres_after = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds_of("postgres")
    finally:
        resume(redis)
        for process in workers:
            os.killpg(process.pid, signal.SIGTERM)
        for process in workers:
            process.wait(timeout=60)
    own = (own_after.ru_utime - own_before.ru_utime) + (own_after.ru_stime - own_before.ru_stime)
    if postgres_before is not None and postgres_after is not None:
        postgres = postgres_after - postgres_before
        print(
            f"meanwhile: PostgreSQL's CPU {postgres:.1f} s ({postgres / max(waiting, 1) * 1000:.1f} ms a report; every "
            f"database of the server), this process's (the fake WeChat API) {own:.1f} s "
            f"({own / max(waiting, 1) * 1000:.1f} ms a report), over {finished - ready:.1f} s on "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )
    print(
        f"workers' CPU on the work: {cpu:.1f} s (user + system) for {waiting} reports: "
        f"{cpu / max(waiting, 1) * 1000:.1f} ms a report, {waiting / max(cpu, 1e-9):.1f} reports per CPU-second "
        f"(PostgreSQL's and Redis's own CPU not counted); their start-up took {ready - started:.1f} s",
        flush=True,
    )
    with psycopg.connect(db_url) as connection:
        incidents = connection.execute("SELECT count(*) FROM incident").fetchone()[0]
        failed = connection.execute("SELECT count(*) FROM outbox_message WHERE done_at IS NULL").fetchone()[0]
    return waiting, finished - started, finished - ready, incidents, failed


def with_workers(env: dict, openids: list[str]) -> tuple[float, float, int, int]:
    """Paced load on the queued app while WORKERS workers run beside it on the same CPUs (production's shape):
    (p50, p99, non-200, messages still waiting when the paced load ends)."""
    from redis import Redis
    from rq import Queue

    timed = build_requests(5 * 10**15, openids, "safe")
    served = Served("server:create_app()", env)
    args = [arg for arg in WORKER_ARGS if arg != "--burst"]
    command = ["nice", "-n", str(WORKER_NICE), sys.executable, "-m", "flask", "--app", "wsgi", "worker", *args]
    workers = [
        subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        for _ in range(WORKERS)
    ]
    try:
        time.sleep(3)  # let the workers start
        p50, p99, failed = open_loop(served.port, timed)
        waiting = Queue("inbound", connection=Redis.from_url(REDIS_URL)).count
    finally:
        served.stop()
        for process in workers:
            os.killpg(process.pid, signal.SIGTERM)
        for process in workers:
            process.wait(timeout=60)
    return p50, p99, failed, waiting


def measure(name: str, target: str, env: dict, openids: list[str], offset: int) -> tuple:
    warm_ids, loaded_ids, timed_ids = openids[:100], openids[100 : 100 + REQUESTS], openids[100 + REQUESTS :]
    base = 10**15 * (offset + 1)
    warm = build_requests(base, warm_ids, "safe")
    loaded = build_requests(base + 10**6, loaded_ids, "safe")
    timed = build_requests(base + 2 * 10**6, timed_ids, "safe")
    served = Served(target, env)
    try:
        closed_loop(served.port, warm)
        throughput, failed = closed_loop(served.port, loaded)
        p50, p99, late_failed = open_loop(served.port, timed)
    finally:
        served.stop()
    print(
        f"{name:8s} {throughput:8.1f} req/s   at {RATE:.0f} req/s: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
        f"   non-200: {failed + late_failed}",
        flush=True,
    )
    return throughput, p50, p99, failed + late_failed


def main() -> None:
    from redis import Redis

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake API's access log
    fake = FakeWeChat().start()  # the workers push replies to it, as they would to WeChat
    db_url = database_url()
    env = environment(db_url, fake.base_url)
    Redis.from_url(REDIS_URL).flushdb()
    paced = int(RATE * RATE_SECONDS)
    openids = [f"o-bench-{i:06d}" for i in range(100 + REQUESTS + paced)]
    fresh = [f"o-bench-live-{i:06d}" for i in range(paced)]  # for the run with workers beside the app
    print(f"preparing: database {DATABASE}, {len(openids) + len(fresh)} citizens ...", flush=True)
    prepare(env, openids + fresh)
    queued = {**env, "WECHAT_REPLY_MODE": "queued"}
    results = {
        "bare": measure("bare", "benchmarks.callback_baselines:bare()", env, openids, 0),
        "minimal": measure("minimal", "benchmarks.callback_baselines:minimal()", env, openids, 1),
        "real": measure("real", "server:create_app()", queued, openids, 2),
    }
    waiting, from_start, seconds, incidents, unfinished = drain(queued, db_url)
    customs = len(fake.sent("/cgi-bin/message/custom/send"))
    print(
        f"workers  {waiting} captured messages handled by {WORKERS} `flask worker {' '.join(WORKER_ARGS)}` "
        f"process(es) in {seconds:.1f} s once started: {waiting / seconds:.1f} reports/s end to end "
        f"({waiting / from_start:.1f} counting their start-up, {from_start:.1f} s)",
        flush=True,
    )
    concurrent = None
    if WORKERS:
        concurrent = with_workers(queued, fresh)
        print(
            f"real+workers  at {RATE:.0f} req/s with {WORKERS} worker(s) at nice {WORKER_NICE}: "
            f"p50 {concurrent[0]:6.1f} ms  "
            f"p99 {concurrent[1]:6.1f} ms   non-200: {concurrent[2]}   still waiting at the end: "
            f"{concurrent[3]} of {paced}",
            flush=True,
        )
    if INLINE:
        results["inline"] = measure("inline", "server:create_app()", {**env, "WECHAT_REPLY_MODE": "inline"}, openids, 3)
    real, minimal, bare = results["real"], results["minimal"], results["bare"]
    expected = REQUESTS + paced + 100
    print()
    print(
        f"settings: gunicorn {' '.join(GUNICORN)}; {REQUESTS} requests, {CONCURRENCY} clients; "
        f"{paced} paced requests; {os.cpu_count()} CPUs; real = WECHAT_REPLY_MODE=queued"
    )
    print(
        f"after the workers: {incidents} incidents (expected {expected}), {customs} replies pushed, "
        f"{unfinished} outbox jobs not done"
    )
    print(f"throughput ratio real / minimal: {real[0] / minimal[0]:.2f}  (target >= 0.50)")
    print(f"throughput ratio real / bare:    {real[0] / bare[0]:.2f}")
    print(f"real p99 at {RATE:.0f} req/s: {real[2]:.1f} ms  (target < 100 ms)")
    print(f"end-to-end capacity with {WORKERS} worker(s) ({' '.join(WORKER_ARGS)}): {waiting / seconds:.1f} reports/s")
    fake.stop()


if __name__ == "__main__":
    main()
