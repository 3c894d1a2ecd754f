"""Helpers for bot tests: an app wired to a fake WeChat API, served by a real HTTP server, and a sender that
signs messages as WeChat does."""

import threading
from contextlib import contextmanager

import requests
from werkzeug.serving import make_server

from bot import simulate

TOKEN = "test-token-wx110"
AES_KEY = "g3IEIbXeKbk0nYM3noR73T4GUV25WvP4tQIq33QnJLA"
APPID = "wx0123456789abcdef"
KEYS = simulate.Keys(TOKEN, AES_KEY, APPID)


def wechat_config(fake, **overrides) -> dict:
    config = {"WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY, "WECHAT_APPID": APPID,
              "WECHAT_SECRET": "secret", "WECHAT_API_BASE": fake.base_url,
              "WECHAT_PROGRESS_TEMPLATE_ID": "TPL_PROGRESS"}
    config.update(overrides)
    return config


@contextmanager
def serving(app):
    """Serve `app` on a free loopback port in a thread (a real HTTP server); yields its /wechat URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wechat"
    finally:
        server.shutdown()
        server.server_close()


class Sender:
    """Posts signed messages to a callback URL and reads the answers."""

    def __init__(self, url: str, mode: str = "plain", keys: simulate.Keys = KEYS):
        self.url, self.mode, self.keys = url, mode, keys
        self.http = requests.Session()

    def post(self, fields: dict, **sign_options) -> requests.Response:
        query, body = simulate.signed(fields, self.keys, mode=self.mode, **sign_options)
        return self.http.post(self.url, params=query, data=body, timeout=30)

    def reply(self, fields: dict, **sign_options) -> str:
        """The reply text ("success" when there was nothing to say); fails on any non-200 answer."""
        response = self.post(fields, **sign_options)
        assert response.status_code == 200, (response.status_code, response.text)
        answer = simulate.read_reply(response.text, self.keys)
        if isinstance(answer, str):
            assert answer == "success", answer
            return answer
        assert ("<Encrypt>" in response.text) == (self.mode != "plain")  # answered in the mode WeChat used
        assert answer["MsgType"] == "text"
        assert answer["ToUserName"] == fields["FromUserName"]
        assert answer["FromUserName"] == fields["ToUserName"]
        assert answer["Content"]
        return answer["Content"]
