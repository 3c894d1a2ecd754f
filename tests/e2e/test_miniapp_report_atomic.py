"""A mini-program report and the photos sent with it are one commit: a fault while storing the second photo
leaves nothing behind and acknowledges nothing; the citizen's retry then records the report once."""

from contextlib import contextmanager

from sqlalchemy import event, func, select

from casework.db import db
from casework.models import Attachment, AuditEntry, Incident, OutboxMessage
from miniapp_api.models import Upload
from tests.miniapp_support import png_bytes


class InjectedFault(RuntimeError):
    pass


@contextmanager
def second_attachment_insert_fails():
    """Make the database insert of the second attachment (counted across the block) fail."""
    seen = []

    def before_insert(_mapper, _connection, target):
        seen.append(target.source_ref)
        if len(seen) == 2:
            raise InjectedFault("disk full while storing the second attachment")

    event.listen(Attachment, "before_insert", before_insert)
    try:
        yield seen
    finally:
        event.remove(Attachment, "before_insert", before_insert)


def counts() -> dict:
    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    numbers = {
        "incidents": count(Incident),
        "attachments": count(Attachment),
        "report_audit": count(AuditEntry, AuditEntry.action.in_(("incident.reported", "attachment.added"))),
        "outbox": count(OutboxMessage),
        "linked_uploads": count(Upload, Upload.attachment_id.is_not(None)),
    }
    db.session.rollback()
    return numbers


def test_fault_on_the_second_attachment_stores_nothing_and_the_retry_succeeds_once(live_server):
    live = live_server
    session = live.login("openid-atomic")
    ids = [
        session.post(live.api("/uploads"), files={"file": (f"p{i}.png", png_bytes((30 + i, 30)), "image/png")}).json()[
            "id"
        ]
        for i in range(3)
    ]
    report = {"description": "小区门口有人打架", "client_id": "report-atomic-1", "attachments": ids}
    with live.app.app_context():
        before = counts()
    assert before == {"incidents": 0, "attachments": 0, "report_audit": 0, "outbox": 0, "linked_uploads": 0}

    with second_attachment_insert_fails() as seen:
        failed = session.post(live.api("/incidents"), json=report)
    assert len(seen) == 2, "the fault struck while storing the second attachment"
    assert failed.status_code == 500 and failed.status_code != 201
    assert "number" not in failed.text  # no incident number: nothing was acknowledged
    with live.app.app_context():
        assert counts() == before, "no incident, attachment, audit entry, outbox row or upload link is left"

    retried = session.post(live.api("/incidents"), json=report)
    assert retried.status_code == 201, retried.text
    incident = retried.json()
    assert len(incident["attachments"]) == 3
    again = session.post(live.api("/incidents"), json=report)  # a second retry changes nothing
    assert again.status_code == 201 and again.json()["id"] == incident["id"]
    with live.app.app_context():
        after = counts()
        assert after["incidents"] == 1 and after["attachments"] == 3 and after["linked_uploads"] == 3
        assert after["report_audit"] == 1 + 3
        stored = db.session.get(Incident, incident["id"])
        assert stored.source_msg_id.endswith(":report-atomic-1")
        assert {a.id for a in stored.attachments} == set(
            db.session.scalars(select(Upload.attachment_id).where(Upload.id.in_(ids)))
        )
