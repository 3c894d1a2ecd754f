"""The console's queue at scale: the queue page and a search by incident number with 1,000,000 incidents in
PostgreSQL, as a ratio of the same requests with 10,000 (the target: at most 1.5x).

    .venv/bin/python benchmarks/console_queue.py [--admin-url postgresql://127.0.0.1/postgres] [--large 1000000]

Builds two throw-away databases (`wx110_bench_queue_small`, `..._large`) on the given server, fills them with
generate_series (rows spread over the demo's stations), and times the requests through the app (routing, the
query, rendering) as a station officer, the median of many rounds.
"""

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

FILL = """
INSERT INTO incident (number, citizen_id, channel, description, status, unit_id, address, reported_at, updated_at)
SELECT 'JQ2026' || lpad(g::text, 10, '0'), %(citizen)s, 'wechat', '压测警情 ' || g,
       (ARRAY['received','dispatched','on_scene','handled','closed'])[1 + g %% 5],
       (%(units)s::int[])[1 + g %% cardinality(%(units)s::int[])], '示范市东湖区东湖路' || (g %% 500) || '号',
       now() - make_interval(secs => %(count)s - g), now()
FROM generate_series(1, %(count)s) AS g
"""


def build(admin_url: str, name: str, count: int, workdir: Path):
    from flask_migrate import upgrade

    from casework import citizens, seed
    from casework.db import db
    from casework.models import Unit
    from server import create_app

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
            "REDIS_URL": None,
            "INLINE_TIMER": False,
            "MEDIA_ROOT": str(workdir / "media"),
            "CONSOLE_SECURE_COOKIES": False,
        }
    )
    with app.app_context():
        upgrade()
        seed.load_categories()
        seed.load_world()
        citizen = citizens.identify(oa_openid="o-bench")
        db.session.commit()
        units = [u.id for u in db.session.query(Unit).filter(Unit.level == "station")]
        started = time.perf_counter()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(FILL, {"citizen": citizen.id, "units": units, "count": count})
            connection.exec_driver_sql("ANALYZE incident")
        print(f"  {name}: {count:,} incidents in {time.perf_counter() - started:.1f} s", flush=True)
    return app


def timed(client, path: str, rounds: int) -> float:
    for _ in range(5):
        assert client.get(path).status_code == 200
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    return statistics.median(samples)


def measure(app, count: int, rounds: int) -> dict[str, float]:
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/console/login", data={"badge_no": "100002", "password": "wx110-demo", "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    number = f"JQ2026{count // 2:010d}"
    return {
        "queue page": timed(client, "/console/", rounds),
        "queue rows (poll)": timed(client, "/console/queue/rows", rounds),
        "search by number": timed(client, f"/console/queue/rows?q={number}", rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://127.0.0.1:5432/postgres")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wx110-bench-queue-"))
    small = measure(build(args.admin_url, "wx110_bench_queue_small", args.small, workdir), args.small, args.rounds)
    large = measure(build(args.admin_url, "wx110_bench_queue_large", args.large, workdir), args.large, args.rounds)
    print(f"{'request':<20}{args.small:>12,}{args.large:>14,}   ratio (target <= 1.5)")
    for name in small:
        ratio = large[name] / small[name]
        print(f"{name:<20}{small[name] * 1000:>10.2f}ms{large[name] * 1000:>12.2f}ms   {ratio:.2f}")


if __name__ == "__main__":
    main()
