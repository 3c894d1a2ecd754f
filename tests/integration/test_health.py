"""Liveness and readiness over HTTP."""

from tests.fail_fast import assert_fails_fast


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_in_process_mode(client, backend):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["database"] == {"ok": True, "backend": backend}
    assert response.json["redis"]["mode"] == "in-process"


def test_readyz_with_real_redis(make_app, redis_url):
    response = make_app(REDIS_URL=redis_url).test_client().get("/readyz")
    assert response.status_code == 200 and response.json["redis"] == {"ok": True, "mode": "redis"}


def test_readyz_reports_dead_redis_without_retrying(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    assert_fails_fast(app)  # how long that takes is measured in benchmarks/dead_redis.py, not asserted here
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["redis"]["ok"] is False and response.json["database"]["ok"] is True
