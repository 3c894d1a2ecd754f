"""The transport side of the callback: size limits, signatures, freshness, nonce replay, decryption, sealing.

WeChat signs plaintext requests with `signature` (over token, timestamp and nonce; not the body) and safe /
compatible mode requests also with `msg_signature` (which covers the encrypted body). Every comparison is
constant-time. Whatever is wrong, the caller gets a `Refused` with a 4xx status and a short reason.
"""

import hashlib
import hmac
import time
from dataclasses import dataclass

import xmltodict
from flask import Request, current_app
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot import nonces
from casework import clock
from store import NotShared, state
from wechat.signature import sign

_FORBIDDEN_MARKUP = (b"<!doctype", b"<!entity", b"<!element", b"<!attlist")


class Refused(Exception):
    """The request is not a genuine, fresh, well-formed WeChat callback; nothing was done."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Opened:
    """A verified inbound message: the parsed message, its raw fields, and how to answer."""

    msg: object
    data: dict
    encrypted: bool
    nonce: str
    xml: bytes = b""  # the plaintext message XML (decrypted in safe / compatible mode)


def _same(expected: str, given: str | None) -> bool:
    return hmac.compare_digest(expected.encode(), (given or "").encode())


def check_query(args, *, token: str, window: int, now: float | None = None) -> tuple[str, str]:
    """Check the query's freshness and, when present or required, its plain `signature`; return (timestamp, nonce)."""
    if not token:
        raise Refused(403, "callback not configured")
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not (timestamp.isdigit() and len(timestamp) <= 12) or not nonce or len(nonce) > 64:
        raise Refused(400, "missing or malformed timestamp/nonce")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > window:
        raise Refused(403, "stale timestamp")
    signature = args.get("signature")
    required = args.get("encrypt_type", "raw") != "aes"
    if (required or signature is not None) and not _same(sign(token, timestamp, nonce), signature):
        raise Refused(403, "bad signature")
    return timestamp, nonce


def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing anything over `limit` bytes whether or not Content-Length says so."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise Refused(413, "body too large")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise Refused(413, "body too large")
    if not body.strip():
        raise Refused(400, "empty body")
    return body


def _guard_markup(xml: bytes) -> None:
    lowered = xml.lower()
    if any(marker in lowered for marker in _FORBIDDEN_MARKUP):
        raise Refused(400, "DTDs and entity declarations are not accepted")


def _parse_envelope(body: bytes) -> dict:
    try:
        parsed = xmltodict.parse(body, disable_entities=True)
    except Exception as exc:  # expat and xmltodict raise many types on bad input
        raise Refused(400, "malformed XML") from exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise Refused(400, "not a WeChat message")
    return root


def crypto() -> WeChatCrypto:
    config = current_app.config
    if len(config.get("WECHAT_AES_KEY") or "") != 43:
        raise Refused(400, "safe mode is not configured")
    return WeChatCrypto(config["WECHAT_TOKEN"], config["WECHAT_AES_KEY"], config["WECHAT_APPID"])


def open_message(request: Request, *, now: float | None = None) -> Opened:
    """Verify and decode one POSTed callback; raise Refused for anything not genuine, fresh and well-formed."""
    config = current_app.config
    token, window = config["WECHAT_TOKEN"], config["WECHAT_REPLAY_WINDOW"]
    timestamp, nonce = check_query(request.args, token=token, window=window, now=now)
    encrypted = request.args.get("encrypt_type", "raw") == "aes"
    if not encrypted and safe_mode_only(config):
        # A plain `signature` covers token, timestamp and nonce, not the body: with one captured query string
        # anyone could post any body as any openid. In safe mode only `msg_signature` (over the body) counts.
        raise Refused(403, "safe mode: plaintext refused, send encrypted with msg_signature")
    body = read_body(request, config["WECHAT_MAX_BODY"])
    _guard_markup(body)
    if encrypted:
        envelope = _parse_envelope(body)
        cipher_text = envelope.get("Encrypt")
        if not isinstance(cipher_text, str) or not cipher_text:
            raise Refused(400, "no Encrypt element")
        if not _same(sign(token, timestamp, nonce, cipher_text), request.args.get("msg_signature")):
            raise Refused(403, "bad msg_signature")
        try:
            xml = crypto().decrypt_message({"Encrypt": cipher_text}, request.args["msg_signature"], timestamp, nonce)
        except InvalidAppIdException as exc:
            raise Refused(403, "wrong AppID") from exc
        except InvalidSignatureException as exc:
            raise Refused(403, "bad msg_signature") from exc
        except Refused:
            raise
        except Exception as exc:  # bad base64, padding or UTF-8 in a correctly signed body
            raise Refused(400, "undecryptable body") from exc
        xml = xml.encode() if isinstance(xml, str) else xml
        _guard_markup(xml)
    else:
        xml = body
    opened = parse(xml, encrypted, nonce)
    # Last, so that only accepted messages are remembered. While plaintext is accepted too (compatible mode), an
    # encrypted message's nonce must also be durable: its query string would carry a plaintext body as well.
    durable = not encrypted or not safe_mode_only(config)
    _refuse_replayed_nonce(timestamp, nonce, body, window, durable=durable)
    return opened


def safe_mode_only(config) -> bool:
    """An AES key is configured and compatible mode (plaintext accepted too) is not allowed."""
    return len(config.get("WECHAT_AES_KEY") or "") == 43 and not config.get("WECHAT_ALLOW_PLAINTEXT")


def _refuse_replayed_nonce(timestamp: str, nonce: str, body: bytes, window: int, *, durable: bool) -> None:
    """An identical replay passes (it will get the stored answer); a different body under a used nonce does not.

    Redis answers first. The database decides when Redis cannot (unreachable, or none configured), and always
    when `durable` (a body no signature covers may come under this query string: plaintext, or any message while
    plaintext is accepted): a flushed Redis has forgotten its nonces, and only the database remembers them then.
    In safe mode the body is covered by `msg_signature`, so under a captured query string only the identical
    message can come back, which the inbox answers once. If neither can answer, the message is refused with 503
    so that WeChat retries it.
    """
    digest = hashlib.sha256(body).hexdigest()
    ttl = min(2 * window + 60, 2 * 86400)
    key = f"{timestamp}:{nonce}"
    try:
        seen = state("bot").add_shared(f"nonce:{key}", digest, ttl)
    except NotShared:
        seen, durable = None, True
    if seen is None and durable:
        try:
            seen = nonces.remember(key, digest, ttl=ttl, now=clock.now())
        except nonces.Unavailable as exc:
            raise Refused(503, "replay guard unavailable, retry later") from exc
    if seen is not None and not hmac.compare_digest(seen, digest):
        raise Refused(403, "nonce already used for another message")


# WeChat's deepest message (a photo-menu event: SendPicsInfo > PicList > item > PicMd5Sum) nests five levels.
MAX_NESTING = 8


def _nesting(data: dict) -> int:
    """How deep the parsed message nests, counted without recursion (a hostile body nests thousands deep)."""
    deepest, waiting = 0, [(data, 1)]
    while waiting and deepest <= MAX_NESTING:
        value, level = waiting.pop()
        deepest = max(deepest, level)
        if isinstance(value, dict):
            waiting.extend((inner, level + 1) for inner in value.values())
        elif isinstance(value, list):
            waiting.extend((inner, level + 1) for inner in value)
    return deepest


def parse(xml: bytes, encrypted: bool = False, nonce: str = "") -> Opened:
    """Parse and check a plaintext message XML (also how a captured message is read back by its job)."""
    try:
        msg = parse_message(xml.decode("utf-8"))
    except Exception as exc:  # parse_message raises ExpatError, KeyError, TypeError, ...
        raise Refused(400, "malformed message") from exc
    data = getattr(msg, "_data", None)
    if msg is None or not isinstance(data, dict):
        raise Refused(400, "malformed message")
    for field in ("FromUserName", "MsgType", "CreateTime"):
        value = data.get(field)
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise Refused(400, f"missing or malformed {field}")
    if not data["CreateTime"].isdigit():
        raise Refused(400, "malformed CreateTime")
    for name, value in data.items():
        if isinstance(value, list):  # a repeated element: ambiguous, so refused
            raise Refused(400, f"repeated element {name}")
    if _nesting(data) > MAX_NESTING:
        raise Refused(400, "message nested too deeply")
    return Opened(msg=msg, data=data, encrypted=encrypted, nonce=nonce, xml=xml)


def seal(reply_xml: str, opened: Opened) -> str:
    """Encrypt a reply when the request was encrypted (answer in the mode WeChat used)."""
    if not opened.encrypted:
        return reply_xml
    return crypto().encrypt_message(reply_xml, opened.nonce, str(int(time.time())))
