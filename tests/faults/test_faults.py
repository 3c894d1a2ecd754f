"""Faults under load: Redis shut down, workers killed, PostgreSQL stopped, the scheduler killed, each while WeChat
sends a steady stream of signed safe-mode reports through gunicorn (see `cluster.py`, `wechat_model.py`).

After each: every message WeChat considers delivered is exactly one incident with exactly one 已收到 push, nothing
is doubled, and `flask audit verify` passes. One deployment serves the four scenarios in turn (each restores what
it broke), so its start-up is paid once; each scenario's checks look only at its own messages.
"""

import json
import logging
import os
import random
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest
from redis import Redis
from rq import Worker
from rq.job import Job

from server.processes import LAST_KEY
from server.worker import RAN_KEY
from tests import services
from tests.faults import cluster as deployment
from tests.faults.wechat_model import WeChatModel
from wechat.fake import FakeWeChat

pytestmark = pytest.mark.faults

RECEIVED = "已收到"
RATE = 5.0  # new reports a second


@pytest.fixture(scope="module")
def fake():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per push would bury the report
    fake = FakeWeChat().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def cluster(fake):
    services.require("fault suite", deployment.problem())
    # The relay's periodic job every 2 s, so that the scheduler scenario sees many moments.
    running = deployment.Cluster(fake.base_url, workers=2, OUTBOX_RELAY_SECONDS="2")
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _in_background(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def _received_pushes(fake: FakeWeChat, openids: set[str]) -> dict[str, int]:
    counts = dict.fromkeys(openids, 0)
    for call in fake.sent("/cgi-bin/message/custom/send") + fake.sent("/cgi-bin/message/template/send"):
        body = call.body or {}
        if body.get("touser") in counts and RECEIVED in json.dumps(body, ensure_ascii=False):
            counts[body["touser"]] += 1
    return counts


def _first_received_push(fake: FakeWeChat) -> dict[str, float]:
    """openid -> when its first 已收到 push reached WeChat (epoch seconds)."""
    first: dict[str, float] = {}
    for call in fake.sent("/cgi-bin/message/custom/send") + fake.sent("/cgi-bin/message/template/send"):
        body = call.body or {}
        if RECEIVED in json.dumps(body, ensure_ascii=False):
            first[body["touser"]] = min(first.get(body["touser"], call.at), call.at)
    return first


def _incidents(cluster: deployment.Cluster, msg_ids: list[str]) -> dict[str, int]:
    with psycopg.connect(cluster.postgres.url) as connection:
        rows = connection.execute(
            "SELECT source_msg_id, count(*) FROM incident WHERE source_msg_id = ANY(%s) GROUP BY source_msg_id",
            ([f"wechat:{msg_id}" for msg_id in msg_ids],),
        ).fetchall()
    counts = dict.fromkeys(msg_ids, 0)
    for source, count in rows:
        counts[source.removeprefix("wechat:")] = count
    return counts


def wait_until_handled(fake: FakeWeChat, model: WeChatModel, seconds: float) -> float:
    """Wait until every delivered message has its 已收到 push; return when that happened (monotonic)."""
    deadline = time.monotonic() + seconds
    wanted = {message.openid for message in model.delivered()}
    while True:
        pushed = _received_pushes(fake, wanted)
        missing = [openid for openid, count in pushed.items() if count == 0]
        if not missing:
            return time.monotonic()
        if time.monotonic() > deadline:
            pytest.fail(
                f"{len(missing)} of {len(wanted)} delivered reports got no 已收到 in {seconds} s: {missing[:5]}"
            )
        time.sleep(0.5)


def assert_exactly_once(cluster, fake, model: WeChatModel, *, may_repeat: frozenset[str] = frozenset()) -> None:
    """Every delivered message: one incident, one 已收到 (two only for a job killed mid-send, named in
    `may_repeat`); an undelivered one at most one of each; the audit chain verifies."""
    messages = model.messages
    assert messages, "the model sent nothing"
    incidents = _incidents(cluster, [message.msg_id for message in messages])
    pushes = _received_pushes(fake, {message.openid for message in messages})
    for message in messages:
        most = 2 if message.openid in may_repeat else 1
        if message.delivered:
            assert incidents[message.msg_id] == 1, (message, incidents[message.msg_id])
            assert 1 <= pushes[message.openid] <= most, (message, pushes[message.openid])
        else:
            assert incidents[message.msg_id] <= 1, message
            assert pushes[message.openid] <= most, message
    repeated = {openid for openid, count in pushes.items() if count > 1}
    assert repeated <= may_repeat, f"已收到 pushed twice to {sorted(repeated - may_repeat)}"
    verified = cluster.flask("audit", "verify")
    assert verified.returncode == 0, verified.stderr


def test_redis_shut_down_for_20_seconds_loses_nothing(cluster, fake):
    model = WeChatModel(cluster.callback_url, run="redis")
    logged = {name: len(cluster.log_of(name)) for name in ("worker-0", "worker-1", "scheduler")}
    sender = _in_background(model.send_steadily, RATE, 40)
    time.sleep(8)
    before = int(time.time()) // 2 * 2
    cluster.redis.stop()
    down = time.monotonic()
    time.sleep(20)
    cluster.redis.start()
    back = time.monotonic()
    sender.join()
    model.finish()
    during = [m for m in model.delivered() if down < m.delivered_at < back]
    assert len(during) >= 40, "reports were acknowledged while Redis was down (kept in PostgreSQL's outbox)"
    assert len(model.delivered()) >= 0.9 * len(model.messages), [m.attempts for m in model.messages][:20]
    done = wait_until_handled(fake, model, 90)
    assert done - back <= 60, f"the last report was handled {done - back:.0f} s after Redis returned"
    assert_exactly_once(cluster, fake, model)
    after = int(time.time()) // 2 * 2 - 4
    for name in ("worker-0", "worker-1", "scheduler"):
        assert cluster.processes[name].poll() is None, f"{name} exited:\n{cluster.log_of(name)[-3000:]}"
        during = cluster.log_of(name)[logged[name] :]
        # rq's scheduler process ends on a lost connection with one traceback (its worker starts it again).
        tracebacks = during.count("Traceback") - during.count("During handling of the above exception")
        assert tracebacks <= 1, f"{name} logged {tracebacks} tracebacks:\n{during[-3000:]}"
        complaints = [line for line in during.splitlines() if "unreachable" in line or "could not connect" in line]
        # Once per part (rq's dequeue, the worker loop, housekeeping, a job's push), not once per try: a line a
        # second would be 20 and more.
        assert len(complaints) <= 6, f"{name} logged the outage {len(complaints)} times:\n" + "\n".join(complaints)
    # The scheduler enqueued the relay moments it missed while Redis was down, and each ran once.
    redis = Redis.from_url(cluster.redis.url)
    runs = _relay_runs(redis, before, after)
    assert all(count <= 1 for count in runs.values()), runs
    # A run that finished while Redis was stopping ran (its once-marker is set) but rq could not record its result:
    # only the moments at the stop may show no recorded run, and only if they carry the marker.
    unrecorded = [moment for moment, count in runs.items() if count == 0]
    assert all(before <= moment <= before + 4 for moment in unrecorded), runs
    assert set(unrecorded) <= _relay_marked(redis), runs


def _current_outbox_job(redis: Redis, pid: int) -> int | None:
    for worker in Worker.all(connection=redis):
        if worker.pid == pid:
            job_id = worker.get_current_job_id()
            if job_id and job_id.startswith("outbox-"):
                return int(job_id.split("-")[1])
    return None


def _session_members(sid: int) -> list[int]:
    """Processes whose session is `sid` (the killed worker started a session: its children are in it)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry))
    return members


def _outbox_rows(cluster, ids: list[int]) -> dict[int, tuple]:
    """Outbox message id -> (done_at, its captured message's key, that message's openid)."""
    with psycopg.connect(cluster.postgres.url) as connection:
        rows = connection.execute(
            "SELECT o.id, o.done_at, w.key, w.openid FROM outbox_message o "
            "LEFT JOIN wechat_inbound w ON w.outbox_id = o.id WHERE o.id = ANY(%s)",
            (ids,),
        ).fetchall()
    return {message_id: (done_at, key, openid) for message_id, done_at, key, openid in rows}


def test_kill_9_a_worker_every_few_seconds_loses_nothing(cluster, fake):
    redis = Redis.from_url(cluster.redis.url)
    model = WeChatModel(cluster.callback_url, run="kill")
    sender = _in_background(model.send_steadily, RATE, 30)
    interrupted: list[tuple[int, float]] = []  # (outbox message id, when its worker was killed)
    orphans: list[list[int]] = []
    time.sleep(3)
    for _round in range(6):
        name = f"worker-{random.randrange(cluster.worker_count)}"
        pid = cluster.processes[name].pid
        busy_by = time.monotonic() + 3  # kill it mid-job when it has one within 3 s
        while (message_id := _current_outbox_job(redis, pid)) is None and time.monotonic() < busy_by:
            time.sleep(0.02)
        killed_at = time.time()
        cluster.kill(name)
        if message_id is not None:
            interrupted.append((message_id, killed_at))
        time.sleep(1.0)  # the scheduler child gets SIGKILL with its parent
        orphans.append(_session_members(pid))
        cluster.start_worker(int(name.split("-")[1]))  # what systemd's Restart= does
        time.sleep(3.0)
    sender.join()
    model.finish()
    assert all(not left for left in orphans), f"children of a killed worker still running: {orphans}"
    assert interrupted, "no kill caught a worker mid-job"
    assert model.delivered(), "nothing was delivered"
    wait_until_handled(fake, model, 90)
    deadline = (interrupted[-1][1] if interrupted else time.time()) + 60
    while True:
        rows = _outbox_rows(cluster, [message_id for message_id, _ in interrupted])
        if all(done_at for done_at, _key, _openid in rows.values()) or time.time() > deadline:
            break
        time.sleep(1)
    for message_id, killed_at in interrupted:
        done_at, _key, _openid = rows[message_id]
        assert done_at is not None, f"interrupted job {message_id} not done 60 s after its worker was killed"
        late = done_at.timestamp() - killed_at
        assert late <= 60, f"interrupted job {message_id} done {late:.0f} s after its worker was killed"
    # A job killed between its push to WeChat and recording it repeats that push (WeChat does not dedupe): allowed
    # only for the messages whose job was running in a killed worker.
    may_repeat = frozenset(openid for _done, _key, openid in rows.values() if openid)
    assert_exactly_once(cluster, fake, model, may_repeat=may_repeat)


def test_postgresql_stopped_immediately_for_10_seconds_loses_nothing_in_queued_mode(cluster, fake):
    model = WeChatModel(cluster.callback_url, run="pg")
    sender = _in_background(model.send_steadily, RATE, 30)
    time.sleep(8)
    stopping = time.time()
    cluster.postgres.stop("immediate")
    down = time.monotonic()
    time.sleep(10)
    cluster.postgres.start()
    back, started = time.monotonic(), time.time()
    sender.join()
    model.finish()
    during = [m for m in model.delivered() if down < m.delivered_at < back]
    assert len(during) >= 20, "reports were acknowledged while PostgreSQL was down (kept in Redis)"
    assert len(model.delivered()) >= 0.9 * len(model.messages), [m.attempts for m in model.messages][:20]
    wait_until_handled(fake, model, 120)
    # A job that pushed its 已收到 just as PostgreSQL went away cannot record the push, and its retry pushes again
    # (the same window as a killed worker's): allowed only for a first push made while the database was stopping
    # or down, at most one per worker.
    in_flight = frozenset(openid for openid, at in _first_received_push(fake).items() if stopping - 2 <= at <= started)
    assert_exactly_once(cluster, fake, model, may_repeat=in_flight)
    repeated = {openid for openid, count in _received_pushes(fake, in_flight).items() if count > 1}
    assert len(repeated) <= cluster.worker_count, repeated


def _relay_runs(redis: Redis, first: int, last: int) -> dict[int, int]:
    """For each 2-second moment of the relay sweep in [first, last]: how many runs actually ran the sweep."""
    runs = {}
    for moment in range(first, last + 1, 2):
        try:
            job = Job.fetch(f"periodic-outbox_relay-{moment}", connection=redis)
        except Exception:  # noqa: BLE001 - no such job: never enqueued
            runs[moment] = 0
            continue
        runs[moment] = sum(1 for result in job.results() if result.return_value is True)
    return runs


def _relay_marked(redis: Redis) -> set[int]:
    """The relay moments whose run set its once-marker (`server.worker.RAN_KEY`), as epoch seconds."""
    marked = set()
    for key in redis.scan_iter(f"{RAN_KEY}:outbox.relay:*"):
        stamp = datetime.fromisoformat(key.decode().split(":outbox.relay:", 1)[1])
        marked.add(int((stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()))
    return marked


def _relay_recorded(redis: Redis) -> int:
    raw = redis.hget(LAST_KEY, "outbox.relay")
    return int(raw) if raw else 0


def _wait_for_scheduler(redis: Redis, since: float) -> None:
    """Wait until a (re)started scheduler has enqueued the relay's moment of `since` or later (its start-up takes
    seconds on a busy machine, and a kill before it is up would test nothing)."""
    deadline = time.monotonic() + 45
    while _relay_recorded(redis) < int(since) // 2 * 2:
        assert time.monotonic() < deadline, "the scheduler did not start enqueueing within 45 s"
        time.sleep(0.2)


def test_the_scheduler_killed_and_restarted_runs_every_moment_once(cluster, fake):
    redis = Redis.from_url(cluster.redis.url)
    model = WeChatModel(cluster.callback_url, run="sched")
    sender = _in_background(model.send_steadily, RATE, 20)
    _wait_for_scheduler(redis, time.time())
    first = _relay_recorded(redis)
    for pause in (4.0, 0.5, 2.5):
        time.sleep(1.5)
        cluster.kill("scheduler")
        time.sleep(pause)
        cluster.start_scheduler()
        _wait_for_scheduler(redis, time.time())
    last = _relay_recorded(redis)
    sender.join()
    model.finish()
    wait_until_handled(fake, model, 60)
    time.sleep(3)  # the last moments' jobs finish
    runs = _relay_runs(redis, first, last)
    assert len(runs) >= 5  # the three restarts and their pauses span at least 11.5 s of 2-second moments
    assert [moment for moment, count in runs.items() if count == 0] == [], "moments skipped"
    assert [moment for moment, count in runs.items() if count > 1] == [], "moments run twice"
    assert_exactly_once(cluster, fake, model)
