"""Public numbers stay unique when many reports and complaints arrive at once; retries race to one record.

Concurrency proves something only on PostgreSQL (SQLite serialises every writer), so these tests run there alone;
each ends with the audit chain verified. The clock is frozen where the day in a number matters.
"""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from casework import audit, citizens, clock, complaints, idempotency, incidents
from casework.db import db
from casework.models import Citizen, Complaint, Incident
from casework.status import Channel

pytestmark = pytest.mark.needs_postgresql
ONE_MOMENT = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 11:00 in Beijing: the whole test is on one local day


@pytest.fixture(autouse=True)
def _chain_intact_after(app, postgresql_only):
    clock.freeze(ONE_MOMENT)
    yield
    with app.app_context():
        assert audit.verify()[1] is None, "a concurrent test forked or broke the audit chain"
        db.session.remove()


def report_concurrently(app, count: int) -> list[Exception]:
    barrier = threading.Barrier(count)
    errors: list[Exception] = []

    def one(index: int) -> None:
        with app.app_context():
            try:
                citizen = citizens.identify(oa_openid=f"openid-concurrent-{index}")
                barrier.wait(timeout=30)
                incidents.report(citizen=citizen, channel=Channel.WECHAT, description=f"并发报警 {index}")
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_concurrent_reports_get_distinct_numbers(app):
    assert report_concurrently(app, 2) == []
    with app.app_context():
        numbers = db.session.scalars(select(Incident.number)).all()
    assert len(numbers) == 2 and len(set(numbers)) == 2


def test_fifty_concurrent_reports_get_fifty_distinct_numbers(app):
    assert report_concurrently(app, 50) == []
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Incident.number)).all())
    assert len(numbers) == 50 and len(set(numbers)) == 50
    assert [int(n[-6:]) for n in numbers] == list(range(1, 51))
    assert {n[:10] for n in numbers} == {"JQ20261126"}


def test_thirty_concurrent_complaints_get_thirty_distinct_numbers(app):
    count = 30
    with app.app_context():
        pairs = []
        for index in range(count):
            citizen = citizens.identify(oa_openid=f"openid-complainer-{index}")
            incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description=f"报警 {index}")
            pairs.append((citizen.id, incident.id))
        db.session.remove()
    barrier, errors = threading.Barrier(count), []

    def complain(citizen_id: int, incident_id: int) -> None:
        with app.app_context():
            try:
                citizen, incident = db.session.get(Citizen, citizen_id), db.session.get(Incident, incident_id)
                db.session.commit()
                barrier.wait(timeout=30)
                complaints.file(citizen=citizen, incident=incident, body="出警太慢")
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=complain, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Complaint.number)).all())
    assert [int(n[-6:]) for n in numbers] == list(range(1, count + 1))
    assert {n[:10] for n in numbers} == {"TS20261126"}


def test_numbers_start_again_at_beijing_midnight_not_at_utc_midnight(app):
    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-midnight")
        made = []
        for moment in (
            datetime(2026, 11, 26, 15, 59, 59, tzinfo=UTC),  # 23:59:59 in Beijing
            datetime(2026, 11, 26, 16, 0, 0, tzinfo=UTC),  # 00:00:00 the next day in Beijing
            datetime(2026, 11, 27, 0, 30, tzinfo=UTC),
        ):  # after UTC midnight: same Beijing day
            clock.freeze(moment)
            made.append(incidents.report(citizen=citizen, channel=Channel.WECHAT, description="跨午夜报警").number)
        db.session.remove()
    assert made == ["JQ20261126000001", "JQ20261127000001", "JQ20261127000002"]


def test_concurrent_deliveries_of_one_message_make_one_incident(app):
    with app.app_context():
        citizen_id = citizens.identify(oa_openid="openid-retrying").id
        db.session.remove()
    barrier, seen, errors = threading.Barrier(6), [], []

    def deliver() -> None:
        with app.app_context():
            try:
                citizen = db.session.get(Citizen, citizen_id)
                db.session.commit()  # hold no transaction (on SQLite: no lock) while waiting for the others
                barrier.wait(timeout=30)
                incident = incidents.report(
                    citizen=citizen,
                    channel=Channel.WECHAT,
                    description="重复投递",
                    source_msg_id="wechat:6054768590064713728",
                )
                seen.append(incident.id)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        ids = db.session.scalars(select(Incident.id)).all()
    assert len(ids) == 1 and set(seen) == set(ids)


def test_two_deliveries_that_both_miss_the_lookup_meet_the_unique_column(app, monkeypatch):
    """Both deliveries look for an earlier incident before either has stored one (a barrier holds them there),
    so both insert: the database's unique column stops the second, which then returns the first one's incident."""
    with app.app_context():
        citizen_id = citizens.identify(oa_openid="openid-racing").id
        db.session.remove()
    barrier, lookups, seen, errors = threading.Barrier(2), [], [], []
    looked_up = idempotency.earlier

    def earlier_then_wait(column, key):
        found = looked_up(column, key)
        lookups.append((threading.get_ident(), found is not None))
        if len([t for t, _ in lookups if t == threading.get_ident()]) == 1:
            db.session.commit()  # hold no snapshot while waiting
            barrier.wait(timeout=30)
        return found

    monkeypatch.setattr(idempotency, "earlier", earlier_then_wait)

    def deliver() -> None:
        with app.app_context():
            try:
                citizen = db.session.get(Citizen, citizen_id)
                incident = incidents.report(
                    citizen=citizen,
                    channel=Channel.WECHAT,
                    description="赛跑的重试",
                    source_msg_id="wechat:7777000000000000001",
                )
                seen.append(incident.id)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Both first lookups found nothing; exactly one thread looked again (the IntegrityError branch) and found it.
    firsts = {}
    for ident, found in lookups:
        firsts.setdefault(ident, []).append(found)
    assert sorted(firsts.values()) == [[False], [False, True]], firsts
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
        db.session.remove()
    assert len(seen) == 2 and len(set(seen)) == 1


def test_a_reserved_number_holds_no_counter_and_is_the_same_for_a_retry_of_its_message(app):
    """Inside `numbering.reserving` a number is drawn in a short transaction of its own: another writer draws the
    next one while the first transaction is still open; a retry of the same message gets the same number back; the
    commit that uses a number removes its reservation, and one left by a rollback names the message."""
    from sqlalchemy import text

    from casework import numbering
    from casework.models import NumberReservation
    from casework.unit_of_work import transaction

    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-reserving")
        db.session.commit()
        other: list[str] = []

        def meanwhile() -> None:
            with app.app_context():
                someone = citizens.identify(oa_openid="openid-meanwhile")
                db.session.execute(text("SET LOCAL lock_timeout = '3s'"))  # waiting for the counter fails it
                other.append(incidents.report(citizen=someone, channel=Channel.WECHAT, description="同时").number)
                db.session.remove()

        with pytest.raises(RuntimeError), transaction(), numbering.reserving("msg:retried"):
            first_number = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="随后失败").number
            thread = threading.Thread(target=meanwhile)
            thread.start()
            thread.join(10)
            raise RuntimeError("the handling fails after the report")
        assert other and other[0] > first_number  # drawn and committed while the first transaction was open
        # The number stays reserved to its message: the gap it leaves until a retry is explained.
        assert db.session.scalar(select(NumberReservation.holder).where(NumberReservation.number == first_number))
        with numbering.reserving("msg:retried"):
            again = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="重试")
        assert again.number == first_number
        assert db.session.scalar(select(func.count()).select_from(NumberReservation)) == 0
        numbers = db.session.scalars(select(Incident.number).order_by(Incident.number)).all()
        assert [int(n[-6:]) for n in numbers] == [1, 2]  # no gap: the retry used the reserved number
