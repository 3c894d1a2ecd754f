"""Does the supervision sweep cost what is due, not what is open? Loads PostgreSQL with 1,000,000 open deadline
clocks of which 1,000 are due, and another database with 1,000 open clocks all due, then times the sweep over each
(the same 1,000 clocks' worth of work: a red warning raised, audited and noticed for each), and prints the ratio
of the large database's median to the small one's. Target: under 2x.

    .venv/bin/python benchmarks/supervision_sweep.py [--open 1000000] [--due 1000] [--samples 5]
                                                     [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Loading: the migrated schema and the demo units and officers, then the clocks with one INSERT ... SELECT over
generate_series, then ANALYZE. Between samples the due clocks are re-armed in place (a new occurrence, due again),
so every sample sweeps exactly `--due` clocks. The two sizes take turns sample by sample, so a shared machine's
changing load weighs on both alike. The databases (`wx110_bench_sweep_<open>`) are dropped and made anew each run.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DUE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LATER = DUE + timedelta(days=3650)  # the open clocks that are not due: far from now


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
            "SECRET_KEY": "sweep-benchmark",
            "PUBLIC_BASE_URL": "http://sweep.invalid",
        }
    )


def load(pg: str, open_clocks: int, due: int, media: Path):
    """A fresh database with `open_clocks` running clocks, `due` of them due at DUE; returns its app."""
    import psycopg
    from flask_migrate import upgrade
    from sqlalchemy import text

    from casework import seed
    from casework.db import db
    from supervision import points

    name = f"wx110_bench_sweep_{open_clocks}"
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    app = build_app(database_url(pg, name), media)
    with app.app_context():
        upgrade()
        seed.load_world()
        points.ensure_defaults()
        db.session.commit()
        unit = db.session.execute(text("SELECT id FROM unit WHERE code = '33010201'")).scalar_one()
        started = DUE - timedelta(days=7)
        # Every clock a complaint-answer clock of one station; the first `due` are due now, the rest years away.
        db.session.execute(
            text(
                """
                INSERT INTO deadline_clock (subject_type, subject_id, subject_number, kind, unit_id, started_at,
                    window_days, working_days, due_at, next_check_at, extended_count, provisional, deadline_moves,
                    detail)
                SELECT 'complaint', n, 'TS-BENCH-' || n, 'COMPLAINT_UNANSWERED', :unit, :started,
                    7, false, CASE WHEN n <= :due THEN :due_at ELSE :later END,
                    CASE WHEN n <= :due THEN :due_at ELSE :later END, 0, false, 0, '{}'
                FROM generate_series(1, :total) AS n
                """
            ),
            {"unit": unit, "started": started, "due": due, "due_at": DUE, "later": LATER, "total": open_clocks},
        )
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return app


def rearm(app, due: int) -> None:
    """Make the due clocks due again as a new occurrence (so the next sweep raises a new red for each)."""
    from sqlalchemy import text

    from casework.db import db

    with app.app_context():
        db.session.execute(
            text(
                "UPDATE deadline_clock SET extended_count = extended_count + 1, next_check_at = due_at WHERE id <= :due"
            ),
            {"due": due},
        )
        db.session.commit()
        db.session.remove()


def timed_sweep(app, due: int) -> float:
    from casework.db import db
    from supervision import sweep

    with app.app_context():
        started = time.perf_counter()
        result = sweep.sweep(now=DUE + timedelta(minutes=1))
        elapsed = time.perf_counter() - started
        db.session.remove()
    if result.visited != due or result.raised != due:
        raise SystemExit(f"expected {due} clocks swept and {due} raised, got {result}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", dest="open_clocks", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    media = Path(tempfile.mkdtemp(prefix="wx110-sweep-bench-"))
    begun = time.perf_counter()
    small = load(args.pg, args.due, args.due, media)
    large = load(args.pg, args.open_clocks, args.due, media)
    print(f"loaded {args.due:,} and {args.open_clocks:,} open clocks in {time.perf_counter() - begun:.0f} s")
    times = {"small": [], "large": []}
    for sample in range(args.samples):
        for size, app in (("small", small), ("large", large)):
            if sample:
                rearm(app, args.due)
            times[size].append(timed_sweep(app, args.due))
    small_median, large_median = statistics.median(times["small"]), statistics.median(times["large"])
    print(f"sweep of {args.due:,} due among {args.due:,} open clocks:      median {small_median * 1000:.0f} ms")
    print(f"sweep of {args.due:,} due among {args.open_clocks:,} open clocks: median {large_median * 1000:.0f} ms")
    print(f"ratio (large / small): {large_median / small_median:.2f}x  (target: under 2x)")


if __name__ == "__main__":
    main()
