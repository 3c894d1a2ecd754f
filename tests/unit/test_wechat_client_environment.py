"""The WeChat client reads the environment's proxy settings once, and still goes through the proxy they name
(HTTPS_PROXY / HTTP_PROXY, unless NO_PROXY covers WeChat's host), as requests would on every call."""

import json

import requests
from requests.adapters import BaseAdapter

from wechat.client import WeChatClient


class Recording(BaseAdapter):
    """An adapter that answers WeChat's calls itself and records what requests handed it."""

    def __init__(self):
        super().__init__()
        self.sent: list[dict] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append({"url": request.url, "proxies": dict(proxies or {}), "verify": verify})
        if "/cgi-bin/stable_token" in request.url:
            answer = {"access_token": "TOKEN", "expires_in": 7200}
        elif "/sns/jscode2session" in request.url:
            answer = {"openid": "o-1", "session_key": "k"}
        else:
            answer = {"errcode": 0, "errmsg": "ok"}
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(answer).encode()
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def client_with(adapter: Recording, base_url: str) -> WeChatClient:
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return WeChatClient(base_url=base_url, appid="wx-env", secret="s", redis=None, session=session)


def clear_proxy_environment(monkeypatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_a_configured_https_proxy_is_used_for_every_call(monkeypatch):
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    adapter = Recording()
    client = client_with(adapter, "https://api.weixin.example")
    client.code2session("code-1")
    client.send_text("o-1", "您好")  # a token fetch, then the message
    assert [sent["url"].split("?")[0] for sent in adapter.sent] == [
        "https://api.weixin.example/sns/jscode2session",
        "https://api.weixin.example/cgi-bin/stable_token",
        "https://api.weixin.example/cgi-bin/message/custom/send",
    ]
    assert all(sent["proxies"].get("https") == "http://proxy.example:3128" for sent in adapter.sent)
    assert client.http.trust_env is False  # requests no longer reads the environment on each call


def test_no_proxy_covering_the_host_goes_direct(monkeypatch):
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "api.weixin.example")
    adapter = Recording()
    client_with(adapter, "https://api.weixin.example").code2session("code-2")
    assert "https" not in adapter.sent[0]["proxies"]


def test_the_ca_bundle_of_the_environment_is_applied(monkeypatch):
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle-for-wechat.pem")
    adapter = Recording()
    client_with(adapter, "https://api.weixin.example").code2session("code-3")
    assert adapter.sent[0]["verify"] == "/etc/ssl/bundle-for-wechat.pem"


def test_a_session_that_does_not_trust_the_environment_still_does_not(monkeypatch):
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    adapter = Recording()
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", adapter)
    WeChatClient(
        base_url="https://api.weixin.example", appid="wx-env2", secret="s", redis=None, session=session
    ).code2session("code-4")
    assert "https" not in adapter.sent[0]["proxies"]
