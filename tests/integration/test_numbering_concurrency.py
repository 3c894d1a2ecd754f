"""Public numbers stay unique when many reports arrive at once."""

import threading

from sqlalchemy import select

from casework import citizens, incidents
from casework.db import db
from casework.models import Incident
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
