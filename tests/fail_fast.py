"""How a test shows that a dead Redis cannot stall a request, without a wall-clock threshold.

A request path stalls on a dead Redis only by waiting long for a connection or by retrying (redis-py retries with
backoff by default). Both are settings of the one request-path client, so the tests check those; how long a
request against a dead Redis takes is measured in `benchmarks/dead_redis.py`.
"""


def assert_fails_fast(app) -> None:
    """The app's request-path Redis client gives up at once: short timeouts, no retries."""
    client = app.extensions["wx110.redis"]
    assert client is not None, "the app runs in in-process mode; there is no Redis client to check"
    settings = client.connection_pool.connection_kwargs
    assert settings["socket_connect_timeout"] == app.config["REDIS_CONNECT_TIMEOUT"] <= 1
    assert settings["socket_timeout"] == app.config["REDIS_SOCKET_TIMEOUT"] <= 1
    retry = settings.get("retry")
    assert retry is not None and retry._retries == 0, "a retrying client would stall the request path"
