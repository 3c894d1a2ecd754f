"""Playing WeChat's part: build a message or event as WeChat's servers would send it, sign it (and encrypt it in
safe or compatible mode), and read the answer. Used by `flask wechat send`, the tests and the benchmarks; it
knows WeChat's protocol only, never the bot that answers.
"""

import secrets
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto

from wechat.signature import sign

ACCOUNT = "gh_wx110demo"
MODES = ("plain", "compatible", "safe")


def _element(name: str, value) -> str:
    if isinstance(value, dict):
        return f"<{name}>{''.join(_element(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, int | float):
        return f"<{name}>{value}</{name}>"
    text = str(value).replace("]]>", "]]]]><![CDATA[>")
    return f"<{name}><![CDATA[{text}]]></{name}>"


def xml_of(fields: dict) -> str:
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def _base(openid: str, msg_type: str, create_time: int | None) -> dict:
    return {
        "ToUserName": ACCOUNT,
        "FromUserName": openid,
        "CreateTime": create_time or int(time.time()),
        "MsgType": msg_type,
    }


def message(
    kind: str,
    openid: str,
    value: str = "",
    *,
    msg_id: int | None = None,
    create_time: int | None = None,
    media_id: str = "",
    recognition: str = "",
    label: str = "",
    title: str = "",
    description: str = "",
) -> dict:
    """The fields of a message (`text`, `image`, `voice`, `video`, `shortvideo`, `location`, `link`)."""
    fields = _base(openid, kind, create_time)
    if kind == "text":
        fields["Content"] = value
    elif kind in ("image", "voice", "video", "shortvideo"):
        fields["MediaId"] = media_id or value or f"MEDIA_{secrets.token_hex(8)}"
        if kind == "image":
            fields["PicUrl"] = "http://mmbiz.qpic.cn/placeholder"
        if kind == "voice":
            fields["Format"] = "amr"
            if recognition:
                fields["Recognition"] = recognition
        if kind in ("video", "shortvideo"):
            fields["ThumbMediaId"] = f"THUMB_{secrets.token_hex(6)}"
    elif kind == "location":
        latitude, _, longitude = (value or "0,0").partition(",")
        fields.update(Location_X=latitude.strip(), Location_Y=longitude.strip(), Scale=15, Label=label)
    elif kind == "link":
        fields.update(Title=title or "链接", Description=description, Url=value)
    else:
        raise ValueError(f"unknown message kind {kind!r}")
    fields["MsgId"] = msg_id or secrets.randbelow(10**18) + 10**18
    return fields


def event(
    name: str,
    openid: str,
    value: str = "",
    *,
    create_time: int | None = None,
    latitude: float = 0.0,
    longitude: float = 0.0,
) -> dict:
    """The fields of an event: subscribe [scene], unsubscribe, SCAN scene, LOCATION, CLICK key,
    scancode_waitmsg result, or any other name as WeChat spells it."""
    fields = _base(openid, "event", create_time)
    upper = {"scan": "SCAN", "location": "LOCATION", "click": "CLICK", "view": "VIEW"}
    fields["Event"] = upper.get(name.lower(), name)
    if name == "subscribe" and value:
        fields.update(EventKey=f"qrscene_{value}", Ticket=f"TICKET_{secrets.token_hex(6)}")
    elif name.lower() == "scan":
        fields.update(EventKey=value, Ticket=f"TICKET_{secrets.token_hex(6)}")
    elif name.lower() == "location":
        fields.update(Latitude=latitude, Longitude=longitude, Precision=30.0)
    elif name.lower() in ("click", "view"):
        fields["EventKey"] = value
    elif name in ("scancode_waitmsg", "scancode_push"):
        fields.update(EventKey="SCAN_DOORPLATE", ScanCodeInfo={"ScanType": "qrcode", "ScanResult": value})
    elif value:
        fields["EventKey"] = value
    return fields


@dataclass
class Keys:
    token: str
    aes_key: str = ""
    appid: str = ""

    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.appid)


def signed(
    fields_or_xml: dict | str,
    keys: Keys,
    *,
    mode: str = "plain",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> tuple[dict, bytes]:
    """(query parameters, body) for POSTing a message to the callback as WeChat does in `mode`."""
    xml = fields_or_xml if isinstance(fields_or_xml, str) else xml_of(fields_or_xml)
    timestamp = str(timestamp or int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))
    query = {"signature": sign(keys.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    if mode == "plain":
        return query, xml.encode()
    sealed = xmltodict.parse(keys.crypto().encrypt_message(xml, nonce, timestamp))["xml"]
    query.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
    to_user = escape(ACCOUNT)
    if mode == "safe":
        body = (
            f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
        )
    else:  # compatible mode: the plaintext fields and the ciphertext side by side
        body = xml[: -len("</xml>")] + f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
    return query, body.encode()


def read_reply(body: str, keys: Keys, *, nonce: str | None = None) -> dict | str:
    """The callback's answer as a dict of reply fields (decrypted when sealed), or the raw text (`success`)."""
    text = body.strip()
    if not text.startswith("<xml"):
        return text
    fields = xmltodict.parse(text)["xml"]
    if "Encrypt" in fields:
        expected = sign(keys.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if expected != fields["MsgSignature"]:
            raise ValueError("reply signature does not verify")
        inner = keys.crypto().decrypt_message(fields, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
        fields = xmltodict.parse(inner)["xml"]
    return fields
