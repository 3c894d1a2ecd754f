"""The app's doorplate key ring, parsed once from QR_KEYS, and the links and scenes built from it."""

from urllib.parse import quote

from flask import current_app

from qr.tokens import SCENE_PREFIX, KeyRing, resolve, sign, token_from_text


def ring() -> KeyRing:
    """The app's key ring (the first key of QR_KEYS signs, all verify)."""
    cached = current_app.extensions.get("wx110.qr_keys")
    if cached is None:
        cached = current_app.extensions["wx110.qr_keys"] = KeyRing.parse(current_app.config["QR_KEYS"])
    return cached


def token_for(doorplate) -> str:
    """The doorplate's token under the current signing key."""
    return sign(ring(), doorplate.id)


def url_for_doorplate(doorplate) -> str:
    """The URL printed in a doorplate's QR code."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/d/{token_for(doorplate)}"


def scene_for_doorplate(doorplate) -> str:
    """The scene_str of a parametric official-account QR for a doorplate (doorplate_from_scan reads it back)."""
    return SCENE_PREFIX + token_for(doorplate)


def miniapp_scheme_url(doorplate) -> str | None:
    """A plaintext URL Scheme that opens the mini-program's report page for this doorplate, if one is set up.

    The query carries `scene=<token>`, the same as the doorplate's wxacode, so the page reads one parameter
    whichever way it was opened. The page must be declared for plaintext schemes in the mini-program's admin.
    """
    appid = current_app.config.get("MINIAPP_APPID")
    page = current_app.config.get("MINIAPP_DOORPLATE_PAGE")
    if not appid or not page:
        return None
    query = quote(f"scene={token_for(doorplate)}", safe="")
    version = current_app.config["MINIAPP_ENV_VERSION"]
    return f"weixin://dl/business/?appid={appid}&path={page}&query={query}&env_version={version}"


def doorplate_from_token(token: str):
    """The active doorplate behind a token; InvalidToken (a NotFound) otherwise."""
    return resolve(ring(), token)


def doorplate_from_scan(text: str):
    """The doorplate behind a scanned URL or bare token; None when the text is not one of our codes at all."""
    token = token_from_text(text, current_app.config["PUBLIC_BASE_URL"])
    return resolve(ring(), token) if token else None
