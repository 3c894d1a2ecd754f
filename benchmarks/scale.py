"""Do the hot queries stay flat as the tables grow? Bulk-loads PostgreSQL with COPY to a small and a large number
of incidents (with their timeline, chat, evidence, outbox and audit rows in the proportions of a working
deployment), runs each listed query many times at each size through the real code, and prints the ratio of the
large size's median and p99 to the small size's.

    .venv/bin/python benchmarks/scale.py [--small 10000] [--large 10000000] [--samples 300]
                                         [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--verify]

Each size is loaded once into its own database (`wx110_scale_<size>`) and kept: a later run reuses it while the
migrations' head is unchanged (`--reload` forces a new load). Loading: the migrated schema, the demo units and
officers, then COPY with foreign-key triggers off and the secondary indexes dropped and rebuilt after, then
ANALYZE. A million incidents took 7 minutes on 2 shared cores, more than half of it hashing the audit chain in
Python (the audit rows form a valid chain, so `--verify` can time `audit verify` at each size too); ten million
take about ten times that.

The two sizes take turns sample by sample (a shared machine's load changes from minute to minute and would
otherwise weigh on one size more than the other). Parameters are drawn at random at each call (a random citizen,
incident, number, doorplate), so the large size reads pages the small one holds in memory: the ratio is what a
deployment would feel, not a cache-warm best case.
Read queries run in a transaction that is rolled back; the sweeps commit what they remove (a handful of rows on
the first run, nothing after).
"""

import argparse
import hashlib
import io
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Rows per incident, from a working deployment's shape: most reports get three public steps (received,
# dispatched, finished), some chat, a photo now and then; every report and every step is audited, and each
# report schedules a few outbox jobs (reply push, routing, notification), all long done.
TIMELINE_PER_INCIDENT = 3
AUDIT_PER_INCIDENT = 3
OUTBOX_PER_INCIDENT = 2
CHAT_PER_INCIDENT = 1
EVIDENCE_SHARE = 0.3  # incidents with one uploaded photo
INCIDENTS_PER_CITIZEN = 4
INCIDENTS_PER_DOORPLATE = 50
SESSIONS_PER_CITIZEN = 1
CHUNK = 50_000  # rows per COPY write

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the loaded data ends here; sweeps and the relay run "now"
SPAN = timedelta(days=365)


def admin_connection(pg: str):
    import psycopg

    return psycopg.connect(pg, autocommit=True)


def database_url(pg: str, name: str) -> str:
    base = pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def build_app(url: str, media: Path):
    from server import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": None,
            "MEDIA_ROOT": str(media),
            "INLINE_TIMER": False,
            "SECRET_KEY": "scale-benchmark",
            "PUBLIC_BASE_URL": "http://scale.invalid",
        }
    )


def migrations_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(ROOT / "migrations")).get_current_head()


# ----------------------------------------------------------------------------------------------------- loading


def ensure_loaded(pg: str, size: int, media: Path, *, reload: bool) -> str:
    """The name of a database holding `size` incidents at the current schema, loading it if needed."""
    name = f"wx110_scale_{size}"
    head = migrations_head()
    with admin_connection(pg) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not reload:
            import psycopg

            with psycopg.connect(pg.rsplit("/", 1)[0] + "/" + name) as conn:
                row = conn.execute(
                    "SELECT size, head FROM scale_meta WHERE complete" if _has_meta(conn) else "SELECT NULL, NULL"
                ).fetchone()
            if row and row[0] == size and row[1] == head:
                print(f"{name}: cached ({size:,} incidents, schema {head})", flush=True)
                return name
        if exists:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    load(database_url(pg, name), size, media, head)
    print(f"{name}: loaded {size:,} incidents in {time.perf_counter() - started:.0f} s", flush=True)
    return name


def _has_meta(conn) -> bool:
    return conn.execute("SELECT to_regclass('scale_meta') IS NOT NULL").fetchone()[0]


def load(url: str, size: int, media: Path, head: str) -> None:
    from flask_migrate import upgrade

    from casework import seed
    from casework.db import db
    from casework.models import Unit

    app = build_app(url, media)
    with app.app_context():
        upgrade()
        seed.load_categories()
        seed.load_world()
        db.session.commit()
        units = list(db.session.scalars(db.select(Unit.id)))
        engine = db.engine
        raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # no FK triggers during the load
            cur.execute("SET maintenance_work_mem = '512MB'")
            dropped = _drop_secondary_indexes(cur)
            _copy_all(cur, size, units)
            print("  rebuilding indexes", flush=True)
            for statement in dropped:
                cur.execute(statement)
            for table in ("citizen", "doorplate", "incident", "timeline_entry", "chat_message", "attachment"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            for table in ("audit_entry", "outbox_message", "miniapp_upload", "miniapp_session"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cur.execute("CREATE TABLE scale_meta (size bigint, head text, complete boolean)")
            cur.execute("INSERT INTO scale_meta VALUES (%s, %s, true)", (size, head))
        conn.commit()
        conn.autocommit = True
        print("  analyze", flush=True)
        conn.execute("VACUUM ANALYZE")
    finally:
        raw.close()
        with app.app_context():
            db.engine.dispose()


BULK_TABLES = (
    "citizen",
    "doorplate",
    "incident",
    "timeline_entry",
    "chat_message",
    "attachment",
    "miniapp_upload",
    "miniapp_session",
    "outbox_message",
    "audit_entry",
)


def _drop_secondary_indexes(cur) -> list[str]:
    """Drop every index but the primary keys of the bulk tables; return the statements that rebuild them."""
    rebuild = []
    for table in BULK_TABLES:
        constraints = cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'u'",
            (table,),
        ).fetchall()
        for name, definition in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        indexes = cur.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
            (table,),
        ).fetchall()
        for name, definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
            rebuild.append(definition)
    return rebuild


def _copy(cur, table: str, columns: str, rows) -> int:
    count = 0
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for row in rows:
            buffer.write(row)
            count += 1
            if count % CHUNK == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return count


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def _copy_all(cur, size: int, units: list[int]) -> None:
    rng = random.Random(size)
    citizens = max(size // INCIDENTS_PER_CITIZEN, 10)
    doorplates = max(size // INCIDENTS_PER_DOORPLATE, 10)
    first = NOW - SPAN
    step = SPAN / size
    created, expires = _ts(first), _ts(NOW + timedelta(days=7))
    started = time.perf_counter()

    def report(what: str, count: int) -> None:
        print(f"  {what}: {count:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)

    base_citizen = cur.execute("SELECT coalesce(max(id), 0) FROM citizen").fetchone()[0]
    report(
        "citizen",
        _copy(
            cur,
            "citizen",
            "id, oa_openid, subscribed, created_at",
            (f"{base_citizen + c}\tscale-{c}\tt\t{created}\n" for c in range(1, citizens + 1)),
        ),
    )
    base_plate = cur.execute("SELECT coalesce(max(id), 0) FROM doorplate").fetchone()[0]
    report(
        "doorplate",
        _copy(
            cur,
            "doorplate",
            "id, code, address, unit_id, status, created_at",
            (
                f"{base_plate + d}\tSC-{d:09d}\t某市某路{d}号\t{units[d % len(units)]}\tactive\t{created}\n"
                for d in range(1, doorplates + 1)
            ),
        ),
    )
    # One pass decides each incident's owner, place and time; the dependent tables reuse it.
    owner = [base_citizen + 1 + int(rng.paretovariate(1.2) * 7919) % citizens for _ in range(size)]
    plate = [base_plate + 1 + rng.randrange(doorplates) if rng.random() < 0.5 else 0 for _ in range(size)]
    at = [_ts(first + step * i) for i in range(size)]
    unit_of = [units[i % len(units)] for i in range(size)]
    report(
        "incident",
        _copy(
            cur,
            "incident",
            "id, number, citizen_id, channel, description, status, doorplate_id, unit_id, reported_at, updated_at",
            (
                f"{i + 1}\tJQ{i + 1:012d}\t{owner[i]}\twechat\t楼下有人吵架,请派人看看\thandled\t"
                f"{plate[i] or chr(92) + 'N'}\t{unit_of[i]}\t{at[i]}\t{at[i]}\n"
                for i in range(size)
            ),
        ),
    )
    steps = (
        ("reported", "received", "已收到您的报警"),
        ("status", "dispatched", "民警已出发"),
        ("status", "handled", None),
    )
    report(
        "timeline_entry",
        _copy(
            cur,
            "timeline_entry",
            "incident_id, at, kind, status, public_note, internal_note, actor_kind",
            (
                f"{i + 1}\t{at[i]}\t{kind}\t{status}\t{note or chr(92) + 'N'}\t处置完毕\tofficer\n"
                for i in range(size)
                for kind, status, note in steps[:TIMELINE_PER_INCIDENT]
            ),
        ),
    )
    report(
        "chat_message",
        _copy(
            cur,
            "chat_message",
            "incident_id, sender_kind, body, at",
            (f"{i + 1}\tcitizen\t请快点\t{at[i]}\n" for i in range(size) for _ in range(CHAT_PER_INCIDENT)),
        ),
    )
    evidence = [i for i in range(size) if rng.random() < EVIDENCE_SHARE]
    report(
        "attachment",
        _copy(
            cur,
            "attachment",
            "id, incident_id, kind, state, storage_key, attempts, created_at",
            (f"{n + 1}\t{i + 1}\timage\tstored\tscale/a{n + 1}\t0\t{at[i]}\n" for n, i in enumerate(evidence)),
        ),
    )
    report(
        "miniapp_upload",
        _copy(
            cur,
            "miniapp_upload",
            "id, citizen_id, kind, content_type, storage_key, sha256, size, meta, created_at, attachment_id",
            (
                f"{n + 1}\t{owner[i]}\timage\timage/jpeg\tscale/u{n + 1}\t{'0' * 64}\t1\t{{}}\t{at[i]}\t{n + 1}\n"
                for n, i in enumerate(evidence)
            ),
        ),
    )
    report(
        "miniapp_session",
        _copy(
            cur,
            "miniapp_session",
            "citizen_id, token_hash, created_at, expires_at",
            (
                f"{base_citizen + c}\t{hashlib.sha256(b'%d' % c).hexdigest()}\t{created}\t{expires}\n"
                for c in range(1, citizens * SESSIONS_PER_CITIZEN + 1)
            ),
        ),
    )
    report(
        "outbox_message",
        _copy(
            cur,
            "outbox_message",
            "job, payload, created_at, dispatched_at, done_at, attempts",
            (
                f"bot.push_reply\t{{}}\t{at[i]}\t{at[i]}\t{at[i]}\t1\n"
                for i in range(size)
                for _ in range(OUTBOX_PER_INCIDENT)
            ),
        ),
    )
    report("audit_entry", _copy_audit(cur, size, owner, at))


def _copy_audit(cur, size: int, owner: list[int], at: list[str]) -> int:
    """A valid chain, continuing whatever the seed wrote, signed by the real `entry_hash` with the app's key."""
    from casework import audit

    ring = audit.key_ring()
    key_id = ring.signing_id

    last = cur.execute("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0], last[1]) if last else (0, audit.GENESIS)
    actions = ("incident.reported", "incident.status_changed", "incident.status_changed")

    def rows():
        nonlocal seq, prev
        for i in range(size):
            for n in range(AUDIT_PER_INCIDENT):
                seq += 1
                moment = datetime.fromisoformat(at[i])
                detail = json.dumps({"step": n}, sort_keys=True)
                entry = SimpleNamespace(
                    seq=seq,
                    at=moment,
                    actor_kind="citizen" if n == 0 else "officer",
                    actor_id=owner[i] if n == 0 else 1,
                    action=actions[n % len(actions)],
                    subject_type="incident",
                    subject_id=i + 1,
                    detail=detail,
                    prev_hash=prev,
                    key_id=key_id,
                )
                digest = audit.entry_hash(entry, ring.keys[key_id])
                yield (
                    f"{seq}\t{at[i]}\t{entry.actor_kind}\t{entry.actor_id}\t{entry.action}\tincident\t{i + 1}\t"
                    f"{detail}\t{prev}\t{digest}\t{key_id}\n"
                )
                prev = digest

    return _copy(
        cur,
        "audit_entry",
        "seq, at, actor_kind, actor_id, action, subject_type, subject_id, detail, prev_hash, hash, key_id",
        rows(),
    )


# ------------------------------------------------------------------------------------------------- measuring


def queries(app, size: int):
    """name -> a function running that query once with random parameters (the real code, as the channels call it)."""
    from casework import audit, outbox, queries
    from casework.db import db
    from casework.models import Citizen, Doorplate, Incident, Officer, System
    from miniapp_api import present
    from miniapp_api.sessions import citizen_for, sweep_expired_sessions
    from miniapp_api.upload_sweep import sweep_abandoned_uploads

    with app.app_context():
        citizens = db.session.execute(db.select(db.func.min(Citizen.id), db.func.max(Citizen.id))).one()
        plates = db.session.execute(
            db.select(db.func.min(Doorplate.id), db.func.max(Doorplate.id)).where(Doorplate.code.like("SC-%"))
        ).one()
        officer_id = db.session.scalar(db.select(Officer.id).where(Officer.badge_no == "100007"))
    rng = random.Random(7)

    def incident_id() -> int:
        return rng.randint(1, size)

    def owned() -> tuple[Citizen, Incident]:
        incident = db.session.get(Incident, incident_id())
        return incident.citizen, incident

    def citizen() -> Citizen:
        return db.session.get(Citizen, rng.randint(*citizens))

    def doorplate() -> Doorplate:
        return db.session.get(Doorplate, rng.randint(*plates))

    def officer() -> Officer:
        return db.session.get(Officer, officer_id)

    def progress_by_number():
        who, incident = owned()
        number = f"jq{incident.id:012d}"  # as typed: lower case, normalised by the query
        return queries.public_timeline(queries.incident_of(who, number=number))

    def by_id() -> Incident:
        who, incident = owned()
        return queries.incident_of(who, incident_id=incident.id)

    def next_page():
        who, incident = owned()
        return queries.incidents_of(who, limit=10, before_id=incident.id + 1)

    return {
        "a citizen's reports": lambda: queries.incidents_of(citizen()),
        "a citizen's reports, next page": next_page,
        "progress by id": lambda: queries.public_timeline(by_id()),
        "progress by number": progress_by_number,
        "mini-program list": lambda: [present.incident_summary(i) for i in queries.incidents_of(citizen())],
        "mini-program detail": lambda: present.incident_detail(by_id()),
        "mini-program session lookup": lambda: citizen_for(hashlib.sha256(b"%d" % rng.randint(1, 10**6)).hexdigest()),
        "a doorplate's history": lambda: queries.incidents_at(doorplate(), officer=officer()),
        "an officer's incident by number": lambda: queries.incident_for(officer(), number=f"JQ{incident_id():012d}"),
        "the outbox relay's claim": lambda: outbox.claim_for_relay(now=NOW),
        "the sweep of unused uploads": lambda: sweep_abandoned_uploads(now=NOW),
        "the sweep of expired sessions": lambda: sweep_expired_sessions(now=NOW),
        "an audit entry appended": lambda: audit.record(actor=System("scale"), action="scale.append", at=NOW),
    }


def measure(apps: dict[int, object], samples: int) -> dict[int, dict[str, tuple[float, float]]]:
    """Median and p99 (ms) of each query at each size. The sizes take turns sample by sample, so that the load
    of a shared machine, which changes from minute to minute, weighs on both alike."""
    from casework.db import db

    runners = {size: queries(app, size) for size, app in apps.items()}
    figures: dict[int, dict[str, tuple[float, float]]] = {size: {} for size in apps}
    for name in runners[next(iter(apps))]:
        times: dict[int, list[float]] = {size: [] for size in apps}
        for n in range(samples + samples // 10):
            order = list(apps) if n % 2 == 0 else list(reversed(apps))
            for size in order:
                with apps[size].app_context():
                    started = time.perf_counter()
                    runners[size][name]()
                    elapsed = time.perf_counter() - started
                    db.session.rollback()
                    db.session.remove()
                if n >= samples // 10:  # the first tenth warms the connection pools and statement caches
                    times[size].append(elapsed * 1000)
        for size, measured in times.items():
            measured.sort()
            figures[size][name] = (
                statistics.median(measured),
                measured[min(len(measured) - 1, int(len(measured) * 0.99))],
            )
    return figures


def time_verify(app) -> tuple[int, float]:
    from casework import audit

    with app.app_context():
        started = time.perf_counter()
        checked, broken = audit.verify(5000)
        elapsed = time.perf_counter() - started
    if broken is not None:
        raise SystemExit(f"the loaded chain is broken: {broken}")
    return checked, checked / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--reload", action="store_true", help="load both sizes again even if cached")
    parser.add_argument("--verify", action="store_true", help="also time `audit verify` over each whole chain")
    args = parser.parse_args()
    if not 0 < args.small < args.large:
        parser.error("--small must be positive and smaller than --large")

    media = Path(tempfile.mkdtemp(prefix="wx110-scale-"))
    rates = {}
    apps = {}
    for size in (args.small, args.large):
        name = ensure_loaded(args.pg, size, media, reload=args.reload)
        apps[size] = build_app(database_url(args.pg, name), media)
    results = measure(apps, args.samples)
    if args.verify:
        rates = {size: time_verify(app) for size, app in apps.items()}

    small, large = results[args.small], results[args.large]
    print(f"\n{args.large:,} vs {args.small:,} incidents, {args.samples} samples each (ms; ratio large/small)")
    print(f"{'query':<34}{'median':>8}{'p99':>8}{'median':>9}{'p99':>8}{'ratio':>8}{'ratio':>8}")
    print(f"{'':<34}{'small':>8}{'small':>8}{'large':>9}{'large':>8}{'median':>8}{'p99':>8}")
    for query in small:
        (m1, p1), (m2, p2) = small[query], large[query]
        print(f"{query:<34}{m1:>8.2f}{p1:>8.2f}{m2:>9.2f}{p2:>8.2f}{m2 / m1:>8.2f}{p2 / p1:>8.2f}")
    if rates:
        (n1, r1), (n2, r2) = rates[args.small], rates[args.large]
        print(f"audit verify: {n1:,} entries at {r1:,.0f}/s; {n2:,} entries at {r2:,.0f}/s (ratio {r2 / r1:.2f})")


if __name__ == "__main__":
    main()
