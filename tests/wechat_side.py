"""Helpers for bot tests: an app wired to a fake WeChat API, served by a real HTTP server, and a sender that
signs messages as WeChat does."""

from contextlib import contextmanager

import requests

from tests import live_server
from wechat import simulator

TOKEN = "test-token-wx110"
AES_KEY = "g3IEIbXeKbk0nYM3noR73T4GUV25WvP4tQIq33QnJLA"
APPID = "wx0123456789abcdef"
KEYS = simulator.Keys(TOKEN, AES_KEY, APPID)


def wechat_config(fake, **overrides) -> dict:
    config = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": "secret",
        "WECHAT_API_BASE": fake.base_url,
        "WECHAT_PROGRESS_TEMPLATE_ID": "TPL_PROGRESS",
        # Compatible mode: most bot tests speak plaintext to read the handlers' answers. The tests of safe mode
        # itself (test_safe_mode.py) turn it off, as production has it.
        "WECHAT_ALLOW_PLAINTEXT": True,
    }
    config.update(overrides)
    return config


@contextmanager
def serving(app):
    """Serve `app` on a free loopback port in a thread (a real HTTP server); yields its /wechat URL."""
    with live_server.serving(app) as base_url:
        yield f"{base_url}/wechat"


class Sender:
    """Posts signed messages to a callback URL and reads the answers."""

    def __init__(self, url: str, mode: str = "plain", keys: simulator.Keys = KEYS):
        self.url, self.mode, self.keys = url, mode, keys
        self.http = requests.Session()

    def post(self, fields: dict, **sign_options) -> requests.Response:
        query, body = simulator.signed(fields, self.keys, mode=self.mode, **sign_options)
        return self.http.post(self.url, params=query, data=body, timeout=30)

    def reply(self, fields: dict, **sign_options) -> str:
        """The reply text ("success" when there was nothing to say); fails on any non-200 answer."""
        response = self.post(fields, **sign_options)
        assert response.status_code == 200, (response.status_code, response.text)
        answer = simulator.read_reply(response.text, self.keys)
        if isinstance(answer, str):
            assert answer == "success", answer
            return answer
        assert ("<Encrypt>" in response.text) == (self.mode != "plain")  # answered in the mode WeChat used
        assert answer["MsgType"] == "text"
        assert answer["ToUserName"] == fields["FromUserName"]
        assert answer["FromUserName"] == fields["ToUserName"]
        assert answer["Content"]
        return answer["Content"]
