"""A loopback stand-in for WeChat's API servers, for tests and the demo: a real HTTP server that answers the
calls wx110 makes, enforces access tokens, and records every request so a test can see what was sent.

Behaviour can be steered: `media` maps media ids to (content type, bytes); `outside_window` holds openids for
which customer-service messages fail with 45015; `consents_exhausted` those for which subscribe messages fail
with 43101; `codes` maps wx.login codes to sessions. Any other wx.login code logs in: "code-<openid>" as that
openid, anything else (unless in `refused_codes`) as an openid derived from the code (the same code, the same
citizen). The media it holds from the start include a short sample video under SAMPLE_VIDEO_MEDIA_ID, so
`send video` works in the demo.
"""

import functools
import hashlib
import io
import secrets
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from fractions import Fraction

import qrcode
from flask import Flask, Response, jsonify, request
from PIL import Image
from werkzeug.serving import WSGIRequestHandler, make_server

SAMPLE_VIDEO_MEDIA_ID = "MEDIA123"


@functools.cache
def sample_video() -> bytes:
    """A real, playable one-second 160×120 H.264 MP4 (a colour sweep), made once per process with the media stack
    the service already uses (PyAV): what an officer's player shows for the demo's sample video."""
    import av  # only the sample video needs the encoder

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.time_base = Fraction(1, 10)
        stream.options = {"preset": "ultrafast"}
        for index in range(10):
            frame = av.VideoFrame.from_image(Image.new("RGB", (160, 120), (index * 25 % 256, 80, 200)))
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections, as WeChat's servers answer (a client's kept-alive session is then
    exercised as in production).

    Werkzeug's own handler ends every response with `Connection: close` and then drains the socket for a moment,
    which on a kept-alive connection would swallow the client's next request. This one runs the app itself: it
    reads the whole request body before the app runs (nothing is left in the socket before the next request
    line), and frames every response (its Content-Length, else chunked) so the connection can carry the next."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: do not hold the second back

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        self.server.open_connections.discard(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        if environ.get("wsgi.input_terminated"):  # chunked: read to its last chunk
            body = environ["wsgi.input"].read()
        else:
            body = environ["wsgi.input"].read(int(self.headers.get("Content-Length") or 0))
        environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        started: list = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]
            return self._unbuffered_write_unsupported

        try:
            result = self.server.app(environ, start_response)
        except Exception:  # noqa: BLE001 - answered 500 and logged, as werkzeug's handler does
            self.close_connection = True
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            self._answer("500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")], [b"internal error"])
            return
        try:
            self._answer(*started, result)
        except Exception:
            self.close_connection = True  # the answer was cut short: the connection cannot carry another
            raise
        finally:
            if hasattr(result, "close"):
                result.close()

    def _answer(self, status: str, headers: list, chunks) -> None:
        code, _, message = status.partition(" ")
        self.send_response(int(code), message)
        names = set()
        for name, value in headers:
            self.send_header(name, value)
            names.add(name.lower())
        bodiless = self.command == "HEAD" or 100 <= int(code) < 200 or int(code) in (204, 304)
        chunked = not bodiless and "content-length" not in names
        if chunked and self.request_version < "HTTP/1.1":
            chunked, self.close_connection = False, True  # an HTTP/1.0 client reads to the end of the connection
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for data in chunks:
            if not data or bodiless:
                continue
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    @staticmethod
    def _unbuffered_write_unsupported(data: bytes) -> None:
        raise NotImplementedError("the fake's apps return their body; start_response's write() is not served")


@dataclass
class Call:
    method: str
    path: str
    params: dict
    body: dict | None
    at: float = field(default_factory=time.time)


class FakeWeChat:
    def __init__(self, appids: dict[str, str] | None = None):
        self.appids = appids or {}  # appid -> secret; empty accepts any
        self.calls: list[Call] = []
        self.tokens: dict[str, str] = {}  # token -> appid
        self.token_fetches = 0
        self.media: dict[str, tuple[str, bytes]] = {SAMPLE_VIDEO_MEDIA_ID: ("video/mp4", sample_video())}
        self.outside_window: set[str] = set()
        self.consents_exhausted: set[str] = set()
        self.codes: dict[str, dict] = {}
        self.refused_codes: set[str] = set()  # wx.login codes answered with 40029 (expired or used)
        self.menu: dict | None = None  # the official account's menu, as last published
        self.unionids: dict[str, str] = {}  # openid -> unionid
        self.fail_next: list[tuple[str, int]] = []  # (path, errcode) to answer once
        self.lock = threading.Lock()
        self.server = None
        self.thread = None
        self.app = self._build()

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0, fd: int | None = None) -> "FakeWeChat":
        """Serve on `host`:`port`, or on the bound, listening socket `fd` a parent handed over."""
        self.server = make_server(host, port, self.app, threaded=True, fd=fd, request_handler=KeepAliveHandler)
        self.server.open_connections = set()
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-wechat", daemon=True)
        self.thread.start()
        return self

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            for connection in list(self.server.open_connections):  # kept-alive connections end with the server
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def sent(self, path: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path == path]

    # -- the fake API -------------------------------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("fake_wechat")
        fake = self

        @app.before_request
        def record():
            if request.path.startswith("/fake/"):
                return None  # the fake's own questions about itself are not calls to WeChat
            body = request.get_json(silent=True) if request.data else None
            with fake.lock:
                fake.calls.append(Call(request.method, request.path, request.args.to_dict(), body))
                for index, (path, errcode) in enumerate(fake.fail_next):
                    if path == request.path:
                        fake.fail_next.pop(index)
                        return jsonify(errcode=errcode, errmsg="injected failure")
            if request.path.startswith(("/cgi-bin/token", "/cgi-bin/stable_token", "/sns/", "/fake-media/")):
                return None
            if request.args.get("access_token") not in fake.tokens:
                return jsonify(errcode=40001, errmsg="invalid credential, access_token is invalid or not latest")
            return None

        @app.route("/cgi-bin/token", methods=["GET"])
        @app.route("/cgi-bin/stable_token", methods=["POST"])
        def token():
            data = request.get_json(silent=True) or request.args
            appid, secret = data.get("appid", ""), data.get("secret", "")
            if fake.appids and fake.appids.get(appid) != secret:
                return jsonify(errcode=40125, errmsg="invalid appsecret")
            with fake.lock:
                fake.token_fetches += 1
                value = "FAKE_" + secrets.token_urlsafe(24)
                fake.tokens[value] = appid
            return jsonify(access_token=value, expires_in=7200)

        @app.post("/cgi-bin/message/custom/send")
        def custom_send():
            if (request.get_json(silent=True) or {}).get("touser") in fake.outside_window:
                return jsonify(errcode=45015, errmsg="response out of time limit or subscription is canceled")
            return jsonify(errcode=0, errmsg="ok")

        @app.post("/cgi-bin/menu/create")
        def menu_create():
            fake.menu = request.get_json(silent=True)
            return jsonify(errcode=0, errmsg="ok")

        @app.post("/cgi-bin/message/template/send")
        def template_send():
            return jsonify(errcode=0, errmsg="ok", msgid=int(time.time() * 1000))

        @app.post("/cgi-bin/message/subscribe/send")
        def subscribe_send():
            if (request.get_json(silent=True) or {}).get("touser") in fake.consents_exhausted:
                return jsonify(errcode=43101, errmsg="user refuse to accept the msg")
            return jsonify(errcode=0, errmsg="ok")

        @app.post("/cgi-bin/qrcode/create")
        def qrcode_create():
            scene = ((request.get_json(silent=True) or {}).get("action_info") or {}).get("scene") or {}
            ticket = "TICKET_" + secrets.token_urlsafe(12)
            return jsonify(ticket=ticket, url=f"http://weixin.qq.com/q/{ticket}", scene=scene)

        @app.get("/cgi-bin/media/get")
        def media_get():
            media_id = request.args.get("media_id", "")
            if media_id not in fake.media:
                return jsonify(errcode=40007, errmsg="invalid media_id")
            content_type, _ = fake.media[media_id]
            if content_type.startswith("video/"):
                return jsonify(video_url=f"{request.host_url.rstrip('/')}/fake-media/{media_id}")
            return _media_response(media_id)

        @app.get("/fake-media/<media_id>")
        def media_file(media_id):
            if media_id not in fake.media:
                return Response("not found", status=404)
            return _media_response(media_id)

        def _media_response(media_id):
            content_type, payload = fake.media[media_id]
            chunks = (payload[i : i + 65536] for i in range(0, len(payload), 65536))
            return Response(chunks, content_type=content_type, headers={"Content-Length": str(len(payload))})

        # -- what the fake exposes about itself (the console's WeChat simulator reads it; WeChat has no such API)

        @app.get("/fake/sent")
        def sent_to():
            """Every customer-service, template and subscribe message sent to one openid, oldest first."""
            touser = request.args.get("touser", "")
            paths = (
                "/cgi-bin/message/custom/send",
                "/cgi-bin/message/template/send",
                "/cgi-bin/message/subscribe/send",
            )
            with fake.lock:
                found = [
                    {"path": call.path, "body": call.body}
                    for call in fake.calls
                    if call.path in paths and (call.body or {}).get("touser") == touser
                ]
            return jsonify(sent=found)

        @app.get("/fake/menu")
        def published_menu():
            """The menu last published with /cgi-bin/menu/create (what a citizen's WeChat shows), or none."""
            with fake.lock:
                return jsonify(menu=fake.menu)

        @app.put("/fake/media/<media_id>")
        def put_media(media_id):
            """Hold a file as if a citizen had sent it to WeChat (the simulator's sample video)."""
            with fake.lock:
                fake.media[media_id] = (request.mimetype or "application/octet-stream", request.get_data())
            return jsonify(errcode=0, errmsg="ok")

        @app.get("/sns/jscode2session")
        def jscode2session():
            code = request.args.get("js_code", "")
            if code in fake.codes:
                return jsonify(fake.codes[code])
            if not code or code in fake.refused_codes:
                return jsonify(errcode=40029, errmsg="invalid code")
            if code.startswith("code-") and len(code) > 5:
                openid = code[5:]
            else:
                openid = "o-fake-" + hashlib.sha256(code.encode()).hexdigest()[:20]
            answer = {"openid": openid, "session_key": secrets.token_urlsafe(16)}
            if openid in fake.unionids:
                answer["unionid"] = fake.unionids[openid]
            return jsonify(answer)

        @app.post("/wxa/getwxacodeunlimit")
        def wxacode():
            body = request.get_json(silent=True) or {}
            scene = body.get("scene", "")
            if not scene or len(scene) > 32:
                return jsonify(errcode=40169, errmsg="invalid length for scene")
            image = qrcode.make(f"wxacode:{body.get('page', '')}?scene={scene}")
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            return Response(buffer.getvalue(), content_type="image/png")

        return app
