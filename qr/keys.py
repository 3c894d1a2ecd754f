"""The app's doorplate key ring, parsed once from QR_KEYS."""

from flask import current_app

from qr.tokens import KeyRing, resolve, sign, token_from_text


def ring() -> KeyRing:
    cached = current_app.extensions.get("wx110.qr_keys")
    if cached is None:
        cached = current_app.extensions["wx110.qr_keys"] = KeyRing.parse(current_app.config.get("QR_KEYS", ""))
    return cached


def token_for(doorplate) -> str:
    return sign(ring(), doorplate.id)


def url_for_doorplate(doorplate) -> str:
    """The URL printed in a doorplate's QR code."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/d/{token_for(doorplate)}"


def doorplate_from_token(token: str):
    return resolve(ring(), token)


def doorplate_from_scan(text: str):
    """The doorplate behind a scanned URL or bare token; None when the text is not one of our codes at all."""
    token = token_from_text(text, current_app.config["PUBLIC_BASE_URL"])
    return resolve(ring(), token) if token else None
