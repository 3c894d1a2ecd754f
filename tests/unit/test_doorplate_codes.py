"""Doorplate token signing and verification (no I/O)."""

import pytest

from casework.doorplate_codes import InvalidToken, KeyRing, sign, token_from_text, verify

RING = KeyRing.parse("b:second-key-0123456789,a:first-key-0123456789")


def test_round_trip_and_length_fits_miniapp_scene():
    token = sign(RING, 123456)
    assert len(token) == 23 <= 32 and token[0] == "b"
    assert verify(RING, token) == 123456


def test_previous_key_still_verifies_until_retired():
    old = sign(KeyRing.parse("a:first-key-0123456789"), 7)
    assert verify(RING, old) == 7
    with pytest.raises(InvalidToken):
        verify(KeyRing.parse("b:second-key-0123456789"), old)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: "z" + t[1:],
        lambda t: t[:5] + ("A" if t[5] != "A" else "B") + t[6:],
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "",
        lambda t: "b" + "=" * 22,
    ],
)
def test_tampered_tokens_are_refused(mutate):
    token = sign(RING, 42)
    with pytest.raises(InvalidToken):
        verify(RING, mutate(token))


def test_forged_token_for_another_id_is_refused():
    other_ring = KeyRing.parse("b:attacker-guess-012345")
    with pytest.raises(InvalidToken):
        verify(RING, sign(other_ring, 42))


def test_token_from_scanned_url():
    token = sign(RING, 9)
    assert token_from_text(f"https://wx110.example.cn/d/{token}", "https://wx110.example.cn") == token
    assert token_from_text(token, "https://wx110.example.cn") == token
    assert token_from_text(f"https://evil.example.com/d/{token}", "https://wx110.example.cn") is None
    assert token_from_text("https://wx110.example.cn/other", "https://wx110.example.cn") is None


def test_official_account_scene_carries_the_token():
    token = sign(RING, 9)
    assert token_from_text(f"dp:{token}", "https://wx110.example.cn") == token
    assert token_from_text(f"qrscene_dp:{token}", "https://wx110.example.cn") == token
    assert token_from_text("dp:short", "https://wx110.example.cn") is None
    assert token_from_text(None, "https://wx110.example.cn") is None


@pytest.mark.parametrize(
    "token",
    [
        sign(RING, 42),
        sign(RING, 42)[:-1] + ("A" if sign(RING, 42)[-1] != "A" else "B"),
        "z" + sign(RING, 42)[1:],
        sign(RING, 42)[:-3],
        "",
        "b" + "*" * 22,
        None,
    ],
)
def test_every_path_does_the_same_work(monkeypatch, token):
    """One HMAC and one constant-time comparison whatever is wrong, so timing tells nothing (structural check)."""
    import hmac as real_hmac

    import casework.doorplate_codes as tokens

    calls = {"new": 0, "compare": 0}
    original_new, original_compare = real_hmac.new, real_hmac.compare_digest

    def counting_new(*args, **kwargs):
        calls["new"] += 1
        return original_new(*args, **kwargs)

    def counting_compare(a, b):
        calls["compare"] += 1
        return original_compare(a, b)

    monkeypatch.setattr(tokens.hmac, "new", counting_new)
    monkeypatch.setattr(tokens.hmac, "compare_digest", counting_compare)
    try:
        verify(RING, token)
    except InvalidToken:
        pass
    assert calls == {"new": 1, "compare": 1}


def test_the_domain_signs_with_the_configured_keys():
    """casework.doorplates reads QR_KEYS and PUBLIC_BASE_URL through casework.settings, with or without an app."""
    from types import SimpleNamespace

    from flask import Flask

    from casework import doorplates

    plate = SimpleNamespace(id=4242)
    assert doorplates.token_for(plate)[0] == "d"  # outside an app: the development key
    app = Flask(__name__)
    app.config.update(
        QR_KEYS="k:configured-key-0123456789,d:dev-only-doorplate-key-not-secret",
        PUBLIC_BASE_URL="https://110.example.gov.cn/wx",
    )
    with app.app_context():
        token = doorplates.token_for(plate)
        assert token[0] == "k" and verify(doorplates.key_ring(), token) == 4242
        found = token_from_text(f"https://110.example.gov.cn/wx/d/{token}", "https://110.example.gov.cn/wx")
        assert found == token
