"""The hot queries stay flat as the tables grow: on PostgreSQL, with tens of thousands of rows and fresh statistics,
every statement the listed use cases send reads incident, timeline_entry, audit_entry (and the outbox, uploads
and sessions) through an index, never by a sequential scan.

The statements are the ones the real functions send (recorded at the cursor), so a change of query shape that
loses its index fails here.
"""

from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from casework import audit, clock, outbox, queries
from casework.db import db
from casework.models import Citizen, Doorplate, Incident, Officer
from miniapp_api import present
from miniapp_api.sessions import citizen_for, sweep_expired_sessions
from miniapp_api.upload_sweep import sweep_abandoned_uploads

pytestmark = pytest.mark.needs_postgresql  # the planner's choices are what is tested

ROWS = 30_000  # incidents; timeline, audit and chat in proportion (enough that a full scan is never cheapest)
CITIZENS = 3_000
DOORPLATES = 1_500
WATCHED = {"incident", "timeline_entry", "audit_entry", "outbox_message", "miniapp_upload", "miniapp_session"}
INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


def _fill(unit_id: int) -> None:
    """Bulk rows, server-side: every table the listed queries read. One citizen (bulk-8) reports often and one
    doorplate (BULK-12) is busy, so that their pages are a few of many rows, as they will be in production."""
    statements = [
        f"""INSERT INTO citizen (oa_openid, subscribed, created_at)
            SELECT 'bulk-' || g, false, now() FROM generate_series(1, {CITIZENS}) g""",
        f"""INSERT INTO doorplate (code, address, unit_id, status, created_at)
            SELECT 'BULK-' || g, '某路' || g || '号', {unit_id}, 'active', now()
            FROM generate_series(1, {DOORPLATES}) g""",
        f"""INSERT INTO incident (number, citizen_id, channel, description, status, doorplate_id, unit_id,
                                  reported_at, updated_at)
            SELECT 'B' || lpad(g::text, 12, '0'),
                   (SELECT min(id) FROM citizen WHERE oa_openid LIKE 'bulk-%')
                   + CASE WHEN g % 50 = 0 THEN 7 ELSE g % {CITIZENS} END, 'wechat', '描述',
                   'received', (SELECT min(id) FROM doorplate WHERE code LIKE 'BULK-%')
                   + CASE WHEN g % 40 = 0 THEN 11 ELSE g % {DOORPLATES} END,
                   {unit_id}, now() - g * interval '1 minute', now()
            FROM generate_series(1, {ROWS}) g""",
        """INSERT INTO timeline_entry (incident_id, at, kind, status, public_note, actor_kind)
           SELECT i.id, i.reported_at, k.kind, 'received', CASE WHEN k.n < 3 THEN '已受理' END, 'system'
           FROM incident i CROSS JOIN (VALUES (1, 'reported'), (2, 'status'), (3, 'note')) AS k(n, kind)""",
        """INSERT INTO chat_message (incident_id, sender_kind, body, at)
           SELECT id, 'citizen', '你好', reported_at FROM incident""",
        """INSERT INTO attachment (incident_id, kind, state, attempts, created_at)
           SELECT id, 'image', 'stored', 0, reported_at FROM incident""",
        """INSERT INTO miniapp_upload (citizen_id, kind, content_type, storage_key, sha256, size, meta, created_at,
                                       attachment_id)
           SELECT i.citizen_id, 'image', 'image/jpeg', 'bulk/k' || a.id, md5(a.id::text) || md5(a.id::text), 1, '{}',
                  a.created_at, a.id
           FROM attachment a JOIN incident i ON i.id = a.incident_id""",
        """INSERT INTO miniapp_session (citizen_id, token_hash, created_at, expires_at)
           SELECT citizen_id, md5('s' || id) || md5('t' || id), now(), now() + interval '7 days'
           FROM incident WHERE id % 3 = 0""",
        """INSERT INTO outbox_message (job, payload, created_at, dispatched_at, done_at, attempts)
           SELECT 'bot.push_reply', '{}', reported_at, reported_at, reported_at, 1 FROM incident""",
        """INSERT INTO audit_entry (seq, at, actor_kind, action, subject_type, subject_id, detail, prev_hash, hash)
           SELECT (SELECT coalesce(max(seq), 0) FROM audit_entry) + row_number() OVER (ORDER BY i.id, k.n),
                  i.reported_at, 'citizen', k.action, 'incident', i.id, '{}',
                  md5('p' || i.id || k.n) || md5('q' || i.id || k.n), md5('h' || i.id || k.n) || md5('i' || i.id || k.n)
           FROM incident i CROSS JOIN (VALUES (1, 'incident.reported'), (2, 'incident.status_changed')) AS k(n, action)
        """,
    ]
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
        autocommit.exec_driver_sql("ANALYZE")


class Recorder:
    """The statements sent through the engine while it is active."""

    def __init__(self):
        self.statements: list[tuple[str, object]] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            self.statements.append((statement, parameters))


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _plan_nodes(statement: str, parameters) -> list[tuple[str, str]]:
    """(node type, relation or index) of every node of the statement's plan."""
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = on")  # the planner's own choice, nothing forced
        plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters or ()).scalar_one()
    return [
        (node["Node Type"], node.get("Relation Name") or node.get("Index Name", "")) for node in _nodes(plan[0]["Plan"])
    ]


@pytest.fixture
def bulk(app, ctx, world, dispatcher):
    officer_id = dispatcher.id
    _fill(dispatcher.unit_id)
    db.session.remove()
    now = clock.now()
    citizen = db.session.scalar(select(Citizen).where(Citizen.oa_openid == "bulk-8"))
    mine = db.session.scalars(select(Incident).where(Incident.citizen_id == citizen.id).order_by(Incident.id)).all()
    # A handful of rows each sweep and the relay must find among the many they must not.
    for statement in (
        "UPDATE outbox_message SET done_at = NULL, dispatched_at = NULL "
        "WHERE id = (SELECT max(id) FROM outbox_message)",
        "UPDATE miniapp_upload SET attachment_id = NULL, created_at = now() - interval '30 days' "
        "WHERE id = (SELECT max(id) FROM miniapp_upload)",
        "UPDATE miniapp_session SET expires_at = now() - interval '30 days' "
        "WHERE id = (SELECT max(id) FROM miniapp_session)",
    ):
        db.session.execute(text(statement))
    db.session.commit()
    return {"citizen_id": citizen.id, "mine": [i.id for i in mine], "now": now, "officer_id": officer_id}


def _citizen(bulk) -> Citizen:
    return db.session.get(Citizen, bulk["citizen_id"])


def _doorplate() -> Doorplate:
    return db.session.scalar(select(Doorplate).where(Doorplate.code == "BULK-12"))


CASES = {
    "a citizen's reports": lambda b, o: queries.incidents_of(_citizen(b), limit=20),
    "a citizen's reports, next page": lambda b, o: queries.incidents_of(_citizen(b), limit=5, before_id=b["mine"][-3]),
    "progress by id": lambda b, o: queries.public_timeline(queries.incident_of(_citizen(b), incident_id=b["mine"][0])),
    "progress by number": lambda b, o: queries.public_timeline(
        queries.incident_of(_citizen(b), number=db.session.get(Incident, b["mine"][1]).number)
    ),
    "mini-program list": lambda b, o: [present.incident_summary(i) for i in queries.incidents_of(_citizen(b))],
    "mini-program detail": lambda b, o: present.incident_detail(
        queries.incident_of(_citizen(b), incident_id=b["mine"][2])
    ),
    "mini-program session lookup": lambda b, o: citizen_for("no-such-token"),
    "a doorplate's history": lambda b, o: queries.incidents_at(_doorplate(), officer=o),
    "a doorplate's history, next page": lambda b, o: queries.incidents_at(
        _doorplate(), officer=o, before_id=queries.incidents_at(_doorplate(), officer=o, limit=3)[-1].id
    ),
    "an officer's incident by number": lambda b, o: queries.incident_for(
        o, number=db.session.get(Incident, b["mine"][0]).number
    ),
    "the outbox relay's claim": lambda b, o: outbox.claim_for_relay(now=b["now"]),
    "the sweep of unused uploads": lambda b, o: sweep_abandoned_uploads(now=b["now"]),
    "the sweep of expired sessions": lambda b, o: sweep_expired_sessions(now=b["now"]),
    "an audit entry appended": lambda b, o: (audit.record(actor=o, action="test.plan", at=b["now"]), audit.seal()),
    "an incident's audit trail": lambda b, o: audit.trail(db.session.get(Incident, b["mine"][0])),
    "audit verify, one batch": lambda b, o: next(audit._walk(500)),
}


# Pages read newest first: the index must give the rows in order, or each page sorts all of the owner's rows.
PAGED = {
    "a citizen's reports",
    "a citizen's reports, next page",
    "mini-program list",
    "a doorplate's history",
    "a doorplate's history, next page",
    "progress by id",
    "progress by number",
    "the outbox relay's claim",
}


def test_each_hot_query_reads_through_an_index(bulk):
    # One bulk load for every case (it is the slow part); each case's failures are reported by name.
    officer_id, failures = bulk["officer_id"], []
    for case, run in CASES.items():
        officer = db.session.get(Officer, officer_id)
        with Recorder() as recorder:
            run(bulk, officer)
        db.session.rollback()
        index_scans, seq_scans, sorts = [], [], []
        for statement, parameters in recorder.statements:
            for node, relation in _plan_nodes(statement, parameters):
                if node == "Seq Scan" and relation in WATCHED:
                    seq_scans.append(f"{relation}: {' '.join(statement.split())[:300]}")
                elif node in INDEX_NODES:
                    index_scans.append(relation)
                elif node == "Sort" and case in PAGED:
                    sorts.append(" ".join(statement.split())[:300])
        if not recorder.statements:
            failures.append(f"{case}: sent no statement")
        failures += [f"{case}: sequential scan of {scan}" for scan in seq_scans]
        failures += [f"{case}: sorts what the index should hand over in order: {sort}" for sort in sorts]
        if not index_scans:
            failures.append(f"{case}: no statement read through an index")
    assert not failures, "\n".join(failures)


def test_the_bulk_rows_are_there(bulk):
    """The plans above are only meaningful on tables big enough that a full scan would cost more."""
    counts = {
        table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in ("incident", "timeline_entry", "audit_entry", "outbox_message")
    }
    assert counts["incident"] >= ROWS and counts["timeline_entry"] >= 3 * ROWS and counts["audit_entry"] >= 2 * ROWS
    assert len(bulk["mine"]) > ROWS // 50  # a frequent reporter; the doorplate is as busy
    assert timedelta(0) <= clock.now() - bulk["now"]
