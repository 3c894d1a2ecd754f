"""What a dead Redis costs on the request path: `/readyz` and filing a complaint with Redis unreachable, as a ratio
of the same request with Redis up. The tests check the settings that make this cheap (short timeouts, no
retries; `tests/fail_fast.py`); this prints the figure they used to assert as a wall-clock limit.

    .venv/bin/python benchmarks/dead_redis.py --redis redis://127.0.0.1:6379/<a database of your own> [--rounds 20]

Uses a SQLite file in a temporary directory; Redis must be running for the baseline (the jobs the complaints
enqueue are left in the given database).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


def build(workdir: Path, name: str, redis_url: str):
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from server import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / f'{name}.sqlite3'}",
            "REDIS_URL": redis_url,
            "MEDIA_ROOT": str(workdir / "media"),
            "INLINE_TIMER": False,
        }
    )
    with app.app_context():
        upgrade()
    return app


def median_ms(action, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def complaint_filer(app):
    from casework import citizens, complaints, incidents
    from casework.db import db
    from casework.status import Channel

    counter = iter(range(10**9))

    def file_one() -> None:
        with app.app_context():
            citizen = citizens.identify(oa_openid=f"bench-{next(counter)}")
            incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="基准测试")
            complaints.file(citizen=citizen, incident=incident, body="基准测试")
            db.session.remove()

    return file_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", required=True, help="a Redis database nobody else uses (jobs land in it)")
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wx110-bench-") as workdir:
        up, down = build(Path(workdir), "up", options.redis), build(Path(workdir), "down", DEAD)
        for label, make in (
            ("GET /readyz", lambda app: lambda: app.test_client().get("/readyz")),
            ("report + complaint", complaint_filer),
        ):
            alive, dead = median_ms(make(up), options.rounds), median_ms(make(down), options.rounds)
            print(f"{label:20s} Redis up {alive:7.1f} ms   Redis dead {dead:7.1f} ms   ratio {dead / alive:5.2f}x")


if __name__ == "__main__":
    main()
