"""Public numbers stay unique when many reports arrive at once."""

import threading

from sqlalchemy import select

from casework import citizens, incidents
from casework.db import db
from casework.models import Citizen, Incident
from casework.status import Channel


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
                incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="重复投递",
                                            source_msg_id="wechat:6054768590064713728")
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
