"""The bulk loader of `benchmarks/scale.py` makes what the benchmark claims to measure: a database at the current
schema (every index and unique constraint back after the load), the rows of each table in the stated proportions,
each incident's rows naming its owner and time, and an audit chain that `audit verify` accepts."""

import tempfile
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select, text

from benchmarks import scale_load
from casework import audit
from casework.db import db
from casework.models import AuditEntry, Incident
from server import create_app
from tests import services
from tests.conftest import base_config

pytestmark = pytest.mark.needs_postgresql  # the loader is PostgreSQL's (generate_series, COPY, VACUUM)

SIZE = 300


@pytest.fixture
def loaded(app, postgresql_only):
    """A throw-away database of this slot holding SIZE incidents from the loader, in an app context on it; the
    seconds of each phase of the load."""
    name = f"{services.PG_DATABASE}_scale"
    admin_url = services.PG_ADMIN_URL
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = scale_load.database_url(admin_url, name)
    try:
        phases = scale_load.load(url, SIZE, Path(tempfile.mkdtemp(prefix="scale-")), scale_load.migrations_head())
        loaded_app = create_app(base_config("postgresql", SQLALCHEMY_DATABASE_URI=url))
        with loaded_app.app_context():
            yield phases
            db.session.remove()
            db.engine.dispose()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _count(table: str) -> int:
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _indexes() -> set[tuple[str, str]]:
    rows = db.session.execute(
        text("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(:tables)"),
        {"tables": list(scale_load.BULK_TABLES)},
    )
    return {(table, definition) for table, definition in rows}


def test_the_loaded_chain_verifies_and_the_rows_are_there_in_proportion(app, loaded):
    with app.app_context():
        migrated = _indexes()  # the test database, built by the migrations alone
        constraints = set(db.session.execute(text("SELECT conname, contype FROM pg_constraint")).all())
    phases = loaded
    assert set(phases) >= {"schema and seed", "rows (audit chain and plain tables at once)"}

    assert _indexes() == migrated
    assert set(db.session.execute(text("SELECT conname, contype FROM pg_constraint")).all()) == constraints

    checked, broken = audit.verify(100)
    assert broken is None
    seeded = checked - SIZE * scale_load.AUDIT_PER_INCIDENT
    assert seeded >= 0
    assert _count("incident") == SIZE
    assert _count("timeline_entry") == SIZE * scale_load.TIMELINE_PER_INCIDENT
    assert _count("chat_message") == SIZE * scale_load.CHAT_PER_INCIDENT
    outbox = db.session.execute(text("SELECT count(*) FROM outbox_message WHERE job = 'bot.push_reply'")).scalar()
    assert outbox == SIZE * scale_load.OUTBOX_PER_INCIDENT
    photos = _count("attachment")
    assert 0.2 * SIZE < photos < 0.4 * SIZE
    assert db.session.execute(text("SELECT count(*) FROM miniapp_upload WHERE attachment_id IS NOT NULL")).scalar() == (
        photos
    )
    scale_citizens = db.session.execute(text("SELECT count(*) FROM citizen WHERE oa_openid LIKE 'scale-%'")).scalar()
    assert scale_citizens == SIZE // scale_load.INCIDENTS_PER_CITIZEN
    assert _count("miniapp_session") == scale_citizens * scale_load.SESSIONS_PER_CITIZEN
    plates = db.session.execute(text("SELECT count(*) FROM doorplate WHERE code LIKE 'SC-%'")).scalar()
    assert plates == max(SIZE // scale_load.INCIDENTS_PER_DOORPLATE, 10)
    assert 0.3 * SIZE < db.session.execute(select(func.count()).where(Incident.doorplate_id.is_not(None))).scalar()

    # Each report's entry names the incident's owner and carries its time, as the app would have written it.
    reported = db.session.execute(
        select(AuditEntry.actor_id, AuditEntry.at, Incident.citizen_id, Incident.reported_at)
        .join(Incident, Incident.id == AuditEntry.subject_id)
        .where(AuditEntry.action == "incident.reported", AuditEntry.subject_type == "incident")
    ).all()
    assert len(reported) == SIZE
    assert all(actor == owner and at == reported_at for actor, at, owner, reported_at in reported)
    for upload_owner, incident_owner in db.session.execute(
        text(
            "SELECT u.citizen_id, i.citizen_id FROM miniapp_upload u JOIN attachment a ON a.id = u.attachment_id "
            "JOIN incident i ON i.id = a.incident_id"
        )
    ):
        assert upload_owner == incident_owner

    # Numbers follow ids (the benchmark draws one and types it), sequences continue after the loaded rows.
    assert db.session.execute(select(Incident.number).where(Incident.id == SIZE)).scalar() == f"JQ{SIZE:012d}"
    assert db.session.execute(text("SELECT nextval('audit_entry_id_seq')")).scalar() > checked
    assert db.session.execute(text("SELECT size, head, loader FROM scale_meta WHERE complete")).one() == (
        SIZE,
        scale_load.migrations_head(),
        scale_load.LOADER,
    )
