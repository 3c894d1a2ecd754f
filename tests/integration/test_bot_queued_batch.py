"""Queued reply mode, in batches: one job handles several citizens' captured messages in one transaction.

Each citizen's messages keep their order; a message that fails is rolled back alone and retried by its own job;
a worker that dies in the middle of a batch loses nothing and does nothing twice; two workers taking the jobs
at once make each incident and push each reply once.
"""

import dataclasses
import threading
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import event, func, select, text

from bot import batch, inbox, outbound, queued, registry
from bot.models import InboundMessage
from casework import audit, clock, settings, subscriptions
from casework.db import db
from casework.doorplates import token_for
from casework.models import ChatMessage, Citizen, Incident, OutboxMessage
from server import housekeeping, worker
from server.extensions import worker_redis
from supervision.models import DeadlineClock
from tests.integration.test_bot_queued import count, pushed, run_jobs
from tests.wechat_side import wechat_config
from wechat import simulator

POISON = "投毒测试"


class WorkerKilled(BaseException):
    """What a worker dying looks like from inside: nothing after this point runs (not an Exception: no handler
    of ours catches it)."""


@pytest.fixture
def queued_app(make_app, fake, redis, redis_url):
    return make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_REPLY_MODE="queued"))


def capture(fields: dict) -> int:
    """Capture a message as the queued callback does; the id of the outbox message (the job) that handles it."""
    xml = simulator.xml_of(fields).encode("utf-8")
    assert queued.capture(fields, xml)
    return db.session.scalar(select(InboundMessage.outbox_id).where(InboundMessage.key == inbox.dedupe_key(fields)))


def text_message(openid: str, content: str, msg_id: int) -> dict:
    return simulator.message("text", openid, content, msg_id=msg_id)


def state_of(fields: dict):
    row = db.session.get(InboundMessage, inbox.dedupe_key(fields))
    job = db.session.get(OutboxMessage, row.outbox_id)
    result = (row.reply, row.sent_at is not None, job.done_at is not None, job.attempts, job.last_error)
    db.session.rollback()
    return result


def count_commits_inserting_incidents(engine) -> list[int]:
    """A list that gets, at each commit that inserted incidents, how many it inserted."""
    commits: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("INSERT INTO incident "):
            conn.info["test.incidents"] = conn.info.get("test.incidents", 0) + 1

    @event.listens_for(engine, "commit")
    def _commit(conn):
        inserted = conn.info.pop("test.incidents", 0)
        if inserted:
            commits.append(inserted)

    @event.listens_for(engine, "rollback")
    def _rollback(conn):
        conn.info.pop("test.incidents", None)

    return commits


def test_one_job_handles_other_citizens_waiting_messages_in_one_transaction_each_in_order(queued_app, fake, world):
    plate = world.doorplate("DH-0001")
    scene, address, plate_id = f"dp:{token_for(plate)}", plate.address, plate.id
    db.session.rollback()
    a, b, c = "o-batch-a", "o-batch-b", "o-batch-c"
    scan_a = simulator.event("scan", a, scene)
    report_a = text_message(a, "楼道里有煤气味", 9_200_000_001)
    report_b = text_message(b, "停车场有人撬车", 9_200_000_002)
    report_c = text_message(c, "路口两车相撞", 9_200_000_003)
    more_b = text_message(b, "他们往东边跑了", 9_200_000_004)
    more_a = text_message(a, "味道越来越大了", 9_200_000_005)
    with queued_app.app_context():
        ids = {}
        for fields in (scan_a, report_b, report_c, report_a, more_b, more_a):  # the citizens' messages interleave
            ids[inbox.dedupe_key(fields)] = capture(fields)
        db.session.commit()
        worker.use_app(queued_app)
        commits_that_reported = count_commits_inserting_incidents(db.engine)

        # One job, C's: it takes A's and B's waiting messages too.
        assert worker.run_outbox_message(ids[inbox.dedupe_key(report_c)]) is True
        for fields in (scan_a, report_a, more_a, report_b, more_b, report_c):
            _reply, sent, done, attempts, error = state_of(fields)
            assert sent and done and attempts == 1 and error is None, fields
        incidents = {row.citizen.oa_openid: row for row in db.session.scalars(select(Incident))}
        assert set(incidents) == {a, b, c}
        assert incidents[a].doorplate_id == plate_id and incidents[a].description == "楼道里有煤气味"
        chat = dict(db.session.execute(select(ChatMessage.body, ChatMessage.incident_id)).all())
        assert chat == {"味道越来越大了": incidents[a].id, "他们往东边跑了": incidents[b].id}
        numbers = {openid: incident.number for openid, incident in incidents.items()}
        db.session.rollback()
        assert commits_that_reported == [3]  # one commit made all three reports

        # Each citizen's replies went in the order of their messages.
        to_a = pushed(fake, a)
        assert len(to_a) == 3 and address in to_a[0] and "警情编号" not in to_a[0]
        assert "已收到" in to_a[1] and numbers[a] in to_a[1] and numbers[a] in to_a[2]
        to_b = pushed(fake, b)
        assert len(to_b) == 2 and "已收到" in to_b[0] and numbers[b] in to_b[0] and numbers[b] in to_b[1]
        assert len(pushed(fake, c)) == 1

        # The other messages' jobs were taken out of the queue (only C's own, which this test ran by hand, waits);
        # delivered anyway, they would find their work done.
        inbound = Queue("inbound", connection=worker_redis(queued_app))
        assert [job.args for job in inbound.jobs] == [(ids[inbox.dedupe_key(report_c)],)]
        for message_id in ids.values():
            assert worker.run_outbox_message(message_id) is False
        run_jobs(queued_app)
        assert count(Incident) == 3 and count(ChatMessage) == 2
        assert [len(pushed(fake, openid)) for openid in (a, b, c)] == [3, 2, 1]
        assert count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0
        assert audit.verify()[1] is None


def test_with_a_batch_of_one_a_job_handles_only_its_own_citizens_messages(make_app, fake, redis, redis_url):
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_REPLY_MODE="queued", WECHAT_QUEUED_BATCH=1))
    with app.app_context():
        first = capture(text_message("o-alone-1", "小区门口有人打架", 9_200_000_101))
        capture(text_message("o-alone-2", "商场里有人偷手机", 9_200_000_102))
        db.session.commit()
        worker.use_app(app)
        assert worker.run_outbox_message(first) is True
        assert count(Incident) == 1 and pushed(fake, "o-alone-2") == []
        run_jobs(app)
        assert count(Incident) == 2 and len(pushed(fake, "o-alone-2")) == 1


def test_a_batch_takes_out_of_the_queue_only_the_jobs_it_has_room_for(make_app, fake, redis, redis_url):
    """With room for three messages, a batch takes the two next citizens' jobs out of the queue and leaves the
    others where they were: not taken out and queued again (each a new rq job, the work of two)."""
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_REPLY_MODE="queued", WECHAT_QUEUED_BATCH=3))
    with app.app_context():
        ids = [capture(text_message(f"o-room-{i}", f"{i}号楼有人吵架", 9_200_000_201 + i)) for i in range(6)]
        db.session.commit()
        inbound = Queue("inbound", connection=worker_redis(app))
        queued_before = {job.args[0]: job.id for job in inbound.jobs}
        assert sorted(queued_before) == ids
        worker.use_app(app)
        assert worker.run_outbox_message(ids[0]) is True
        assert count(Incident) == 3
        # The first three citizens' jobs were its own and the two it took; the other three are the same rq jobs.
        assert {job.args[0]: job.id for job in inbound.jobs} == {
            message_id: queued_before[message_id] for message_id in ids[3:]
        } | {ids[0]: queued_before[ids[0]]}
        run_jobs(app)
        assert count(Incident) == 6 and count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0


@pytest.mark.expect_job_failures
def test_a_poisoned_message_is_rolled_back_alone_left_out_of_later_batches_and_retried_by_its_own_job(
    queued_app, fake, monkeypatch
):
    real = registry.HANDLERS["text"]

    def poisoned(turn):
        reply = real(turn)  # it reports (incident, timeline, audit entry) and only then fails
        if POISON in turn.data["Content"]:
            raise RuntimeError("handler crashed")
        return reply

    monkeypatch.setitem(registry.HANDLERS, "text", poisoned)
    bad = text_message("o-poison", f"{POISON}:超市有人闹事", 9_200_000_201)
    good = [text_message(f"o-healthy-{i}", f"第{i}起:路边有人受伤", 9_200_000_210 + i) for i in range(3)]
    with queued_app.app_context():
        bad_job = capture(bad)
        first = capture(good[0])
        capture(good[1])
        db.session.commit()
        worker.use_app(queued_app)

        assert worker.run_outbox_message(first) is True
        assert state_of(bad)[:4] == (None, False, False, 1)  # not handled, not sent, its job charged one attempt
        assert "handler crashed" in state_of(bad)[4]
        assert all(state_of(fields)[1] for fields in good[:2])
        assert count(Incident) == 2  # the poisoned message's incident was rolled back with its SAVEPOINT
        assert audit.verify()[1] is None  # and so was its audit entry: the chain has no gap

        # A later batch leaves it alone: it is not tried again behind another citizen's job.
        later = capture(good[2])
        db.session.commit()
        assert worker.run_outbox_message(later) is True
        assert state_of(bad)[3] == 1 and state_of(good[2])[1]

        # Its own job retries it alone, and fails alone.
        with pytest.raises(RuntimeError, match="handler crashed"):
            worker.run_outbox_message(bad_job)
        assert state_of(bad)[:4] == (None, False, False, 2)

        monkeypatch.setitem(registry.HANDLERS, "text", real)  # fixed: the next retry reports it, once
        assert worker.run_outbox_message(bad_job) is True
        reply, sent, done, _attempts, error = state_of(bad)
        assert sent and done and error is None and "已收到" in reply
        run_jobs(queued_app)
        assert count(Incident) == 4
        assert [len(pushed(fake, f["FromUserName"])) for f in (bad, *good)] == [1, 1, 1, 1]
        assert audit.verify()[1] is None


def _requeue_as_abandoned(app, message_id: int) -> int:
    """What happens to a dead worker's job: it left the queue when the worker took it, and once it is old enough
    a live worker's housekeeping queues it again (with any job the dead worker kept to run itself); how many."""
    inbound = Queue("inbound", connection=worker_redis(app))
    [taken] = [job for job in inbound.jobs if job.args == (message_id,)]
    inbound.remove(taken)
    later = clock.now() + timedelta(seconds=settings.get("OUTBOX_ABANDONED_SECONDS") + 5)
    requeued = housekeeping.requeue_abandoned(app.extensions["wx110.redis"], now=later)
    assert any(job.args == (message_id,) for job in inbound.jobs)
    return requeued


@pytest.mark.parametrize("dies", ["while handling", "after its commit, before pushing", "in the middle of its pushes"])
def test_a_worker_killed_mid_batch_loses_nothing_and_does_nothing_twice(queued_app, fake, monkeypatch, dies):
    reports = [text_message(f"o-killed-{i}", f"第{i}起:楼下有人争吵", 9_200_000_300 + i) for i in range(4)]
    if dies == "while handling":
        real, calls = inbox.handle_turn, []

        def dying(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise WorkerKilled()
            return real(*args, **kwargs)

        monkeypatch.setattr(inbox, "handle_turn", dying)
    elif dies == "after its commit, before pushing":

        def dying(_outcomes):
            raise WorkerKilled()

        monkeypatch.setattr(batch, "_push", dying)
    else:
        real_push, pushes = outbound.push, []

        def dying(*args, **kwargs):
            pushes.append(1)
            if len(pushes) == 3:
                raise WorkerKilled()  # two replies went (and were marked sent), the third never left
            return real_push(*args, **kwargs)

        monkeypatch.setattr(outbound, "push", dying)
    with queued_app.app_context():
        first = capture(reports[0])
        for fields in reports[1:]:
            capture(fields)
        db.session.commit()
        worker.use_app(queued_app)
        with pytest.raises(WorkerKilled):
            worker.run_outbox_message(first)
        db.session.rollback()
        monkeypatch.undo()

        stored = count(InboundMessage, InboundMessage.reply.is_not(None))
        sent_before = 2 if dies == "in the middle of its pushes" else 0
        if dies == "while handling":
            assert count(Incident) == 0 and stored == 0  # nothing of the batch was committed
        else:
            assert count(Incident) == 4 and stored == 4  # committed: the replies wait to be pushed
            # Their supervision clocks started (and routing ran) in the same commit: in place, not as follow-ups.
            assert count(DeadlineClock) == 4 and count(OutboxMessage, OutboxMessage.job == "incident.route") == 0
        assert count(InboundMessage, InboundMessage.sent_at.is_not(None)) == sent_before
        assert count(OutboxMessage, OutboxMessage.done_at.is_not(None)) == 0
        assert sum(len(pushed(fake, f["FromUserName"])) for f in reports) == sent_before

        requeued = _requeue_as_abandoned(queued_app, first)
        # Re-sent: the dead worker's own job and the three it had taken for its batch (the reports' routing and
        # supervision ran inside the batch's transaction: there are no jobs of theirs to re-send).
        assert requeued == 4
        run_jobs(queued_app)
        assert count(Incident) == 4
        assert [len(pushed(fake, f["FromUserName"])) for f in reports] == [1, 1, 1, 1]
        assert count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0
        assert audit.verify()[1] is None


@pytest.mark.needs_postgresql  # SQLite serialises every writer: only PostgreSQL lets two workers overlap
def test_two_workers_taking_the_jobs_at_once_make_each_incident_and_push_each_reply_once(queued_app, fake):
    citizens = [f"o-pair-{i}" for i in range(8)]
    with queued_app.app_context():
        jobs = []
        for round_ in range(3):  # each citizen: a report, then two follow-ups
            for i, openid in enumerate(citizens):
                content = f"第{i}起:有人持刀" if round_ == 0 else f"第{i}起补充{round_}"
                jobs.append(capture(text_message(openid, content, 9_200_001_000 + round_ * 100 + i)))
        db.session.commit()
    worker.use_app(queued_app)
    lock, errors = threading.Lock(), []

    def work() -> None:
        while True:
            with lock:
                if not jobs:
                    return
                message_id = jobs.pop(0)
            try:
                worker.run_outbox_message(message_id)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with queued_app.app_context():
        run_jobs(queued_app)
        assert count(Incident) == 8 and count(ChatMessage) == 16
        for openid in citizens:
            texts = pushed(fake, openid)
            assert len(texts) == 3, (openid, texts)
            assert "已收到" in texts[0]  # the report was answered first, then its two follow-ups
        bodies = db.session.scalars(select(ChatMessage.body).order_by(ChatMessage.id)).all()
        db.session.rollback()
        for i in range(8):  # each citizen's follow-ups were stored in order
            mine = [body for body in bodies if body.startswith(f"第{i}起")]
            assert mine == [f"第{i}起补充1", f"第{i}起补充2"]
        assert count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0
        assert (
            db.session.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.sent_at.is_(None)))
            == 0
        )
        assert audit.verify()[1] is None


def test_withdrawing_done_jobs_leaves_alone_one_a_worker_has_already_taken(queued_app, redis):
    with queued_app.app_context():
        ids = [capture(text_message(f"o-withdraw-{i}", "门口有人吵架", 9_200_002_000 + i)) for i in range(3)]
        db.session.commit()
        inbound = Queue("inbound", connection=worker_redis(queued_app))
        taken = redis.lpop(inbound.key).decode()  # a worker has just taken the first one
        dispatcher = queued_app.extensions["wx110.dispatcher"]
        assert sorted(dispatcher.withdraw("inbound", ids)) == ids[1:]
        assert inbound.count == 0
        assert redis.exists(f"rq:job:{taken}")  # its data stays: that worker runs it (and finds it done)
        assert dispatcher.withdraw("inbound", ids) == []
        db.session.rollback()


def test_a_batch_leaves_to_another_worker_a_citizen_whose_job_it_has_already_taken(
    queued_app, redis, fake, monkeypatch
):
    """A batch takes its messages' jobs out of the queue before it locks their citizens: the citizen of a job that
    another worker has just taken is not locked by the batch, so that worker does not wait for the whole batch."""
    seen = []
    real_handle = batch.handle

    def handle(messages, own_key):
        free = True  # SQLite: one process, nothing to lock
        if db.engine.dialect.name == "postgresql":  # is the second citizen's lock free while the batch holds its own?
            free = db.session.execute(
                text("SELECT pg_try_advisory_xact_lock(:space, hashtext('o-taken-1'))"), {"space": queued.LOCK_SPACE}
            ).scalar()
            db.session.rollback()
        seen.append((sorted(m.openid for m in messages), free))
        return real_handle(messages, own_key)

    monkeypatch.setattr(batch, "handle", handle)
    with queued_app.app_context():
        ids = [capture(text_message(f"o-taken-{i}", "门口有人吵架", 9_200_005_000 + i)) for i in range(3)]
        db.session.commit()
        inbound = Queue("inbound", connection=worker_redis(queued_app))
        assert redis.lpop(inbound.key).decode().startswith(f"outbox-{ids[0]}-")
        assert redis.lpop(inbound.key).decode().startswith(f"outbox-{ids[1]}-")  # another worker has just taken it
        worker.use_app(queued_app)
        assert worker.run_outbox_message(ids[0]) is True
        assert seen == [(["o-taken-0", "o-taken-2"], True)]
        assert inbound.count == 0  # the third citizen's job came out of the queue: the batch handled its message
        assert [len(pushed(fake, f"o-taken-{i}")) for i in range(3)] == [1, 0, 1]
        assert worker.run_outbox_message(ids[1]) is True  # the other worker's run
        assert [len(pushed(fake, f"o-taken-{i}")) for i in range(3)] == [1, 1, 1]
        assert count(Incident) == 3


@pytest.mark.needs_postgresql
def test_while_a_batch_works_other_writers_draw_numbers_and_append_to_the_chain_without_waiting(
    queued_app, monkeypatch
):
    """A batch holds neither a day counter nor the audit chain while it works (its numbers are reserved on a
    connection of their own, its entries sealed at its commit): a report made between two of its messages goes
    through at once, and both end up with distinct numbers on one intact chain."""
    from sqlalchemy import text

    from casework import citizens, incidents
    from casework.models import NumberReservation
    from casework.status import Channel

    handled, meanwhile = [], []
    real = inbox.handle_turn

    def handle_then_let_another_writer_in(msg, data, key):
        reply = real(msg, data, key)
        handled.append(key)
        if len(handled) == 1:

            def report_meanwhile() -> None:
                with queued_app.app_context():
                    someone = citizens.identify(oa_openid="o-meanwhile")
                    db.session.execute(text("SET LOCAL lock_timeout = '3s'"))  # any wait for the batch fails
                    meanwhile.append(incidents.report(citizen=someone, channel=Channel.WECHAT, description="同时报警"))
                    meanwhile.append(meanwhile[0].number)
                    db.session.remove()

            thread = threading.Thread(target=report_meanwhile)
            thread.start()
            thread.join(10)
            handled.append("waited" if thread.is_alive() else "went through")
        return reply

    monkeypatch.setattr(inbox, "handle_turn", handle_then_let_another_writer_in)
    with queued_app.app_context():
        first = capture(text_message("o-overlap-1", "路边有人晕倒", 9_200_004_001))
        capture(text_message("o-overlap-2", "小区门口有人打架", 9_200_004_002))
        db.session.commit()
        worker.use_app(queued_app)
        assert worker.run_outbox_message(first) is True
        assert handled[1] == "went through" and len(meanwhile) == 2, "the other writer waited for the batch"
        numbers = sorted(db.session.scalars(select(Incident.number)).all())
        assert len(numbers) == len(set(numbers)) == 3 and meanwhile[1] in numbers
        assert [int(n[-6:]) for n in numbers] == [1, 2, 3]
        assert db.session.scalar(select(func.count()).select_from(NumberReservation)) == 0
        assert audit.verify()[1] is None


def test_a_batch_that_fails_as_a_whole_hands_the_jobs_it_took_back_to_the_queue(queued_app, fake, monkeypatch):
    reports = [text_message(f"o-handback-{i}", f"第{i}起:小区里有人摔倒", 9_200_003_000 + i) for i in range(3)]

    def broken(_outcomes):
        raise RuntimeError("the batch's pushes broke down")

    monkeypatch.setattr(batch, "_push", broken)
    with queued_app.app_context():
        first = capture(reports[0])
        others = [capture(fields) for fields in reports[1:]]
        db.session.commit()
        worker.use_app(queued_app)
        with pytest.raises(RuntimeError, match="pushes broke down"):
            worker.run_outbox_message(first)
        monkeypatch.undo()
        inbound = Queue("inbound", connection=worker_redis(queued_app))
        assert sorted(job.args[0] for job in inbound.jobs) == sorted([first, *others])  # none waits for housekeeping
        run_jobs(queued_app)
        assert count(Incident) == 3
        assert [len(pushed(fake, f["FromUserName"])) for f in reports] == [1, 1, 1]
        assert count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0


@pytest.mark.expect_job_failures
def test_a_follow_up_failing_in_place_goes_to_the_queue_alone_and_the_rest_still_run_in_place(
    queued_app, fake, world, monkeypatch
):
    """The jobs a report schedules run in place in one SAVEPOINT; when one of them fails for one report, that
    SAVEPOINT goes, they run again one SAVEPOINT each, and only the failing job is left to the queue: the report,
    its routing and the other reports' clocks all commit with the batch."""
    reports = [text_message(f"o-inplace-{i}", f"第{i}号楼下有人打架", 9_200_300_000 + i) for i in range(3)]
    db.session.rollback()
    with queued_app.app_context():
        first = capture(reports[0])
        for fields in reports[1:]:
            capture(fields)
        db.session.commit()
        jobs = subscriptions.of(queued_app).jobs
        name, calls = "supervision.incident_reported", []
        real = jobs[name].func

        def failing_for_the_second_report(*, incident_id):
            openid = db.session.get(Incident, incident_id).citizen.oa_openid
            calls.append(openid)
            if openid == "o-inplace-1":
                raise RuntimeError("clock store unavailable")
            return real(incident_id=incident_id)

        monkeypatch.setitem(jobs, name, dataclasses.replace(jobs[name], func=failing_for_the_second_report))
        worker.use_app(queued_app)
        assert worker.run_outbox_message(first) is True
        monkeypatch.undo()

        # All three reports, their routing and two clocks committed with the batch; the second report's clock
        # failed in place (with its routing, then alone) and was left to the queue, where it failed again.
        assert count(Incident) == 3 and count(Incident, Incident.unit_id.is_(None)) == 0
        second = db.session.scalar(select(Incident.id).join(Incident.citizen).where(Citizen.oa_openid == "o-inplace-1"))
        clocked = set(db.session.scalars(select(DeadlineClock.incident_id)))
        left = db.session.execute(
            select(OutboxMessage.job, OutboxMessage.payload, OutboxMessage.last_error).where(
                OutboxMessage.job != batch.JOB
            )
        ).all()
        db.session.rollback()
        assert calls.count("o-inplace-0") == calls.count("o-inplace-2") == 1 and calls.count("o-inplace-1") >= 2
        assert second not in clocked and len(clocked) == 2
        # The only job that went through the outbox: not the routing that failed beside it the first time.
        assert [(job, payload, "clock store unavailable" in error) for job, payload, error in left] == [
            (name, f'{{"incident_id": {second}}}', True)
        ]
        assert [len(pushed(fake, f["FromUserName"])) for f in reports] == [1, 1, 1]

        run_jobs(queued_app)  # the queue retries it: now it starts
        assert count(DeadlineClock) == 3
        assert count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0
        assert audit.verify()[1] is None
