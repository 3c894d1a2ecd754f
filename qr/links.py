"""What a doorplate's QR codes carry: the landing-page URL, the official-account scene, the mini-program link.

The short code itself (signed with QR_KEYS) is the domain's, `casework.doorplates.token_for`.
"""

from urllib.parse import quote

from flask import current_app

from casework.doorplates import SCENE_PREFIX, token_for


def url_for_doorplate(doorplate) -> str:
    """The URL printed in a doorplate's QR code."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/d/{token_for(doorplate)}"


def scene_for_doorplate(doorplate) -> str:
    """The scene_str of a parametric official-account QR for a doorplate (`doorplate_from_scan` reads it back)."""
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
