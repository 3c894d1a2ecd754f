"""What one transaction already knows: a report's routing and supervision clock, run in the transaction that
made the report (a batch's follow-ups in place), neither lock the new incident nor ask the database about its
clocks; a report made earlier, or one whose knowledge a SAVEPOINT's rollback dropped, is locked and read as usual.
"""

import threading

import pytest
from sqlalchemy import event, func, select

from casework import incidents, per_transaction, routing
from casework.db import db
from casework.models import Incident
from casework.status import Channel
from casework.unit_of_work import transaction
from supervision import watch
from supervision.models import DeadlineClock

WEST_LAKE = {"latitude": 30.2692, "longitude": 120.1423}  # next to 西湖路派出所's doorplates


@pytest.fixture
def statements(ctx):
    seen: list[str] = []
    mine = threading.get_ident()

    def record(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == mine:  # not the in-process dispatcher's jobs, on their own thread
            seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def clocks_of(incident_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(DeadlineClock).where(DeadlineClock.incident_id == incident_id)
    )


def test_follow_ups_in_the_reports_own_transaction_neither_lock_it_nor_read_its_clocks(citizen, world, statements):
    with transaction():
        incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="路边有人晕倒", **WEST_LAKE)
        assert per_transaction.ours("incident", incident.id)
        statements.clear()
        routing.route_new_incident(incident.id)
        watch.incident_reported(incident.id)
        watch.incident_reported(incident.id)  # a job run twice: it finds the clock it started
        followed = list(statements)
    incident_id = incident.id
    db.session.expire_all()
    assert db.session.get(Incident, incident_id).unit.name == "西湖路派出所"
    assert clocks_of(incident_id) == 1
    assert not [s for s in followed if "FOR UPDATE" in s or (s.startswith("SELECT") and "FROM deadline_clock" in s)]
    assert not per_transaction.ours("incident", incident_id)  # forgotten with its transaction


def test_an_earlier_report_or_one_after_a_savepoints_rollback_is_read_as_usual(ctx, citizen, world, statements):
    earlier = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="门口有人吵架", **WEST_LAKE)
    db.session.rollback()
    ctx.extensions["wx110.dispatcher"].drain()  # its own routing and clock ran: what follows finds them
    with transaction():
        fresh = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="楼下有人打架", **WEST_LAKE)
        with pytest.raises(RuntimeError), db.session.begin_nested():
            raise RuntimeError("a SAVEPOINT rolled back: what the transaction knew is dropped")
        assert not per_transaction.ours("incident", fresh.id)
        statements.clear()
        for incident_id in (earlier.id, fresh.id):
            routing.route_new_incident(incident_id)
            watch.incident_reported(incident_id)
            watch.incident_reported(incident_id)
        read = list(statements)
    clock_reads = [s for s in read if s.startswith("SELECT") and "FROM deadline_clock" in s]
    assert len(clock_reads) == 4  # each start asked the database
    if db.engine.dialect.name == "postgresql":
        assert len([s for s in read if s.startswith("SELECT incident.") and "FOR UPDATE" in s]) == 2
    assert (clocks_of(earlier.id), clocks_of(fresh.id)) == (1, 1)
