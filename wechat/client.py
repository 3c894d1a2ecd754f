"""One small client for every call wx110 makes to WeChat, pointed at WECHAT_API_BASE.

The access token is shared by every process through Redis: one process refreshes it (under a short Redis lock)
while the others wait for the new value, because each refresh can invalidate the token the others hold. The
`stable_token` endpoint is used, which does not invalidate the previous token. Every HTTP call has a timeout.

What requests reads from the environment (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, REQUESTS_CA_BUNDLE /
CURL_CA_BUNDLE, ~/.netrc) is read once per client and origin, not on every request: requests does it on each call
while a session trusts the environment, which cost about a third of a push. The client switches that off on its
session and hands requests the same settings itself.
"""

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from requests.utils import get_netrc_auth

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}  # invalid / malformed / expired access token: refresh once and retry
OUT_OF_WINDOW = 45015  # customer-service message outside the 48-hour window
NO_CONSENT = 43101  # subscribe message without a remaining consent
TIMEOUT = (2.0, 5.0)
TOKEN_MEMO_SECONDS = 30.0


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str = ""):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class _LocalToken:
    value: str | None = None
    expires_at: float = 0.0


@dataclass(frozen=True)
class _Environment:
    """The environment's settings for one origin, as requests would apply them to a request."""

    proxies: dict
    verify: str | None
    auth: tuple[str, str] | None


_local_tokens: dict[tuple[str, str], _LocalToken] = {}  # (API base, appid) -> token
_local_lock = threading.Lock()


class WeChatClient:
    def __init__(
        self,
        *,
        base_url: str,
        appid: str,
        secret: str,
        redis: Redis | None,
        session: requests.Session | None = None,
        timeout=TIMEOUT,
    ):
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self.secret = secret
        self.redis = redis
        self.http = session or requests.Session()
        self.timeout = timeout
        # The environment is this client's to apply (once per origin, see `_environment`) when the session trusts
        # it; a session given with trust_env off keeps it off.
        self._applies_environment = self.http.trust_env
        self.http.trust_env = False
        self._environments: dict[tuple[str, str], _Environment] = {}
        self._memo = _LocalToken()  # the shared token, as last read (see `_remember`)

    # -- access token ---------------------------------------------------------------------------------------

    @property
    def _token_key(self) -> str:
        return f"wx110:wechat:token:{self.appid}"

    def access_token(self, *, stale: str | None = None) -> str:
        """The current access token; `stale` names one the caller saw rejected, which forces a refresh."""
        if self.redis is None:
            return self._local_token(stale)
        try:
            return self._shared_token(stale)
        except RedisError as exc:
            log.warning("wechat: redis unavailable for the token (%s); using a process-local token", exc)
            return self._local_token(stale)

    def _shared_token(self, stale: str | None) -> str:
        memo = self._memo
        if memo.value and memo.value != stale and memo.expires_at > time.monotonic():
            return memo.value
        cached = self.redis.get(self._token_key)
        if cached and cached.decode() != stale:
            return self._remember(cached.decode())
        lock = self.redis.lock(f"{self._token_key}:refresh", timeout=15, blocking_timeout=8, sleep=0.05)
        if not lock.acquire():
            raise WeChatError(-1, "timed out waiting for another process to refresh the access token")
        try:
            cached = self.redis.get(self._token_key)  # someone refreshed it while we waited
            if cached and cached.decode() != stale:
                return self._remember(cached.decode())
            token, expires_in = self._fetch_token(force=stale is not None)
            self.redis.set(self._token_key, token, ex=max(expires_in - 300, 60))
            return self._remember(token)
        finally:
            with contextlib.suppress(RedisError):
                lock.release()

    def _remember(self, token: str) -> str:
        """Keep the shared token in this client for TOKEN_MEMO_SECONDS, sparing each call its Redis read: a token
        another process has since replaced still works (the stable-token endpoint does not invalidate it), and one
        WeChat rejects is asked for again as `stale`, which reads Redis."""
        self._memo = _LocalToken(token, time.monotonic() + TOKEN_MEMO_SECONDS)
        return token

    def _local_token(self, stale: str | None) -> str:
        with _local_lock:
            entry = _local_tokens.setdefault((self.base_url, self.appid), _LocalToken())
            if entry.value and entry.value != stale and entry.expires_at > time.monotonic():
                return entry.value
            token, expires_in = self._fetch_token(force=stale is not None)
            entry.value, entry.expires_at = token, time.monotonic() + max(expires_in - 300, 60)
            return token

    def _fetch_token(self, *, force: bool) -> tuple[str, int]:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret, "force_refresh": force}
        response = self._request("POST", f"{self.base_url}/cgi-bin/stable_token", json=body)
        data = _json(response)
        if "access_token" not in data:
            raise WeChatError(data.get("errcode", -1), data.get("errmsg", "no access_token in answer"))
        return data["access_token"], int(data.get("expires_in", 7200))

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs) -> requests.Response:
        """One HTTP request through the session, with the timeout and what the environment says for its origin."""
        kwargs.setdefault("timeout", self.timeout)
        if self._applies_environment:
            found = self._environment(url)
            kwargs["proxies"] = dict(found.proxies)
            if found.verify is not None:
                kwargs.setdefault("verify", found.verify)
            if found.auth is not None and self.http.auth is None:
                kwargs.setdefault("auth", found.auth)
        return self.http.request(method, url, **kwargs)

    def _environment(self, url: str) -> "_Environment":
        """What requests would take from the environment for a request to `url` (proxies unless NO_PROXY covers
        its host, the CA bundle, netrc credentials), read the first time this client talks to that origin."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        found = self._environments.get(origin)
        if found is None:
            if len(self._environments) >= 64:  # media URLs may name many hosts: keep the map small
                self._environments.clear()
            with requests.Session() as probe:  # requests' own reading of the environment, with nothing of ours
                probe.verify = None
                merged = probe.merge_environment_settings(url, {}, None, None, None)
            found = self._environments[origin] = _Environment(
                proxies=merged["proxies"], verify=merged["verify"], auth=get_netrc_auth(url)
            )
        return found

    # -- calls ----------------------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None, raw: bool = False):
        """Call an API that takes `access_token`; refresh the token once if WeChat says it is invalid.

        Returns the decoded JSON, or with `raw=True` the response itself when it is not a JSON error.
        """
        token = self.access_token()
        for attempt in range(2):
            response = self._request(
                method,
                f"{self.base_url}{path}",
                params={**(params or {}), "access_token": token},
                data=json.dumps(body, ensure_ascii=False).encode() if body is not None else None,
                headers={"Content-Type": "application/json"} if body is not None else None,
                stream=raw,
            )
            if raw and not response.headers.get("Content-Type", "").startswith(("application/json", "text/plain")):
                return response
            data = _json(response)
            errcode = data.get("errcode", 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                token = self.access_token(stale=token)
                continue
            if errcode:
                raise WeChatError(errcode, data.get("errmsg", ""))
            return response if raw else data
        raise AssertionError("unreachable")

    # -- official account ----------------------------------------------------------------------------------

    def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message (only inside the 48-hour window; WeChatError 45015 outside it)."""
        self.call(
            "POST",
            "/cgi-bin/message/custom/send",
            body={"touser": openid, "msgtype": "text", "text": {"content": content}},
        )

    def create_menu(self, menu: dict) -> None:
        """Publish the official account's custom menu (replaces the one in place)."""
        self.call("POST", "/cgi-bin/menu/create", body=menu)

    def send_template(self, openid: str, template_id: str, data: dict, *, url: str | None = None) -> None:
        body = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            body["url"] = url
        self.call("POST", "/cgi-bin/message/template/send", body=body)

    def create_scene_qrcode(self, scene_str: str, *, expire_seconds: int | None = None) -> dict:
        """A parametric official-account QR code (permanent unless `expire_seconds`); returns ticket and url."""
        body = {"action_info": {"scene": {"scene_str": scene_str}}}
        if expire_seconds:
            body.update(action_name="QR_STR_SCENE", expire_seconds=expire_seconds)
        else:
            body["action_name"] = "QR_LIMIT_STR_SCENE"
        return self.call("POST", "/cgi-bin/qrcode/create", body=body)

    @contextlib.contextmanager
    def download_media(self, media_id: str) -> Iterator[requests.Response]:
        """Stream a temporary media file (image, voice or video); use `.iter_content()` on what this yields."""
        response = self.call("GET", "/cgi-bin/media/get", params={"media_id": media_id}, raw=True)
        if response.headers.get("Content-Type", "").startswith(("application/json", "text/plain")):
            # Videos come back as {"video_url": ...}: fetch that URL, streaming.
            data = response.json()
            response.close()
            response = self._request("GET", data["video_url"], stream=True)
            response.raise_for_status()
        try:
            yield response
        finally:
            response.close()

    # -- mini-program ---------------------------------------------------------------------------------------

    def code2session(self, js_code: str) -> dict:
        """Exchange a wx.login code for openid, session_key and (when known) unionid."""
        response = self._request(
            "GET",
            f"{self.base_url}/sns/jscode2session",
            params={"appid": self.appid, "secret": self.secret, "js_code": js_code, "grant_type": "authorization_code"},
        )
        data = _json(response)
        if data.get("errcode") or "openid" not in data:
            raise WeChatError(data.get("errcode", -1), data.get("errmsg", "no openid in answer"))
        return data

    def send_subscribe_message(self, openid: str, template_id: str, data: dict, *, page: str | None = None) -> None:
        """One subscribe message (WeChatError 43101 when the user has no consent left)."""
        body = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if page:
            body["page"] = page
        self.call("POST", "/cgi-bin/message/subscribe/send", body=body)

    def get_wxacode_unlimited(
        self,
        scene: str,
        *,
        page: str | None = None,
        width: int = 430,
        check_path: bool = False,
        env_version: str = "release",
    ) -> bytes:
        """A mini-program code PNG for `scene` (at most 32 visible characters)."""
        if not scene or len(scene) > 32:
            raise ValueError("scene must be 1 to 32 characters")
        body = {"scene": scene, "width": width, "check_path": check_path, "env_version": env_version}
        if page:
            body["page"] = page
        response = self.call("POST", "/wxa/getwxacodeunlimit", body=body, raw=True)
        try:
            return response.content
        finally:
            response.close()


def _json(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        raise WeChatError(-1, f"HTTP {response.status_code}: not JSON") from exc
    if not isinstance(data, dict):
        raise WeChatError(-1, "unexpected answer")
    return data


def client(kind: str = "oa") -> WeChatClient:
    """The app's client for the official account (`oa`) or the mini-program (`miniapp`)."""
    app = current_app
    key = f"wx110.wechat.{kind}"
    found = app.extensions.get(key)
    if found is None:
        prefix = "WECHAT" if kind == "oa" else "MINIAPP"
        found = WeChatClient(
            base_url=app.config["WECHAT_API_BASE"],
            appid=app.config[f"{prefix}_APPID"],
            secret=app.config[f"{prefix}_SECRET"],
            redis=app.extensions.get("wx110.redis"),
        )
        app.extensions[key] = found
    return found
