"""A doorplate's short code: a signed token, short and URL-safe, that fits a mini-program code's 32-character scene.

A token is one key-id character followed by 22 base64url characters: the doorplate id (4 bytes) and a 96-bit
HMAC-SHA256 tag over it. Keys come from QR_KEYS ("id:secret,id:secret"); the first signs, all verify, so a key
is rotated by putting a new one first and retired by removing it.
"""

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

from casework.errors import NotFound

TAG_BYTES = 12  # 96 bits
TOKEN_LENGTH = 1 + 22
_BODY = re.compile(r"^[A-Za-z0-9_-]{22}$")
_DOMAIN = b"wx110/doorplate/v1|"
DEV_KEYS = "d:dev-only-doorplate-key-not-secret"


class InvalidToken(NotFound):
    code = "invalid_doorplate_code"


@dataclass(frozen=True)
class KeyRing:
    signing_id: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, spec: str) -> "KeyRing":
        """Parse "id:secret,id:secret"; the first key signs."""
        keys: dict[str, bytes] = {}
        order = []
        for part in (spec or DEV_KEYS).split(","):
            part = part.strip()
            if not part:
                continue
            kid, sep, secret = part.partition(":")
            if not sep or len(kid) != 1 or not kid.isalnum() or len(secret) < 16:
                raise ValueError("QR_KEYS entries must be '<one alphanumeric id>:<secret of 16+ characters>'")
            keys[kid] = secret.encode()
            order.append(kid)
        if not order:
            raise ValueError("QR_KEYS is empty")
        return cls(signing_id=order[0], keys=keys)


def _tag(secret: bytes, kid: str, doorplate_id: int) -> bytes:
    message = _DOMAIN + kid.encode() + struct.pack(">I", doorplate_id)
    return hmac.new(secret, message, hashlib.sha256).digest()[:TAG_BYTES]


def sign(ring: KeyRing, doorplate_id: int) -> str:
    """The token for a doorplate under the current signing key."""
    if not 0 < doorplate_id < 2**32:
        raise ValueError("doorplate id out of range")
    kid = ring.signing_id
    body = struct.pack(">I", doorplate_id) + _tag(ring.keys[kid], kid, doorplate_id)
    return kid + base64.urlsafe_b64encode(body).decode().rstrip("=")


def verify(ring: KeyRing, token: str) -> int:
    """The doorplate id a token carries; InvalidToken for anything forged, tampered, truncated or unknown.

    Every path computes one HMAC and one constant-time comparison, so timing does not reveal why it failed.
    """
    token = token if isinstance(token, str) else ""
    kid, body = token[:1], token[1:]
    well_formed = len(token) == TOKEN_LENGTH and bool(_BODY.match(body)) and kid in ring.keys
    raw = base64.urlsafe_b64decode(body + "==") if well_formed else bytes(4 + TAG_BYTES)
    doorplate_id = struct.unpack(">I", raw[:4])[0]
    secret = ring.keys.get(kid, b"\0" * 32) if well_formed else b"\0" * 32
    expected = _tag(secret, kid or "?", doorplate_id)
    genuine = hmac.compare_digest(expected, raw[4:])
    if not (well_formed and genuine and doorplate_id):
        raise InvalidToken("门牌二维码无效")
    return doorplate_id


SCENE_PREFIX = "dp:"


def token_from_text(text: str, public_base_url: str) -> str | None:
    """The token in a scanned URL of ours (".../d/<token>"), an official-account scene ("dp:<token>", also as
    "qrscene_dp:<token>") or a bare token; None if it is none of these."""
    text = (text or "").strip() if isinstance(text, str) else ""
    text = text.removeprefix("qrscene_")
    if text.startswith(SCENE_PREFIX):
        text = text[len(SCENE_PREFIX) :]
    if len(text) == TOKEN_LENGTH and _BODY.match(text[1:]):
        return text
    parts = urlsplit(text)
    base = urlsplit(public_base_url)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != base.netloc.lower():
        return None
    prefix = base.path.rstrip("/") + "/d/"
    if not parts.path.startswith(prefix):
        return None
    candidate = parts.path[len(prefix) :].strip("/")
    return candidate if len(candidate) == TOKEN_LENGTH else None
