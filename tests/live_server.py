"""Serve an app over real HTTP on a free loopback port, in a thread, for the length of a `with` block."""

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serving(app, *, public: bool = False):
    """Yield the base URL of `app` served on 127.0.0.1; with `public`, PUBLIC_BASE_URL is pointed at it too."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    if public:
        app.config["PUBLIC_BASE_URL"] = base_url
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-app", daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
