"""Pieces of the bot that need no I/O: signatures, registry keys, dedupe keys, sealing round trips."""

import xmltodict
from wechatpy import parse_message

from bot import registry
from bot.envelope import sign
from bot.inbox import dedupe_key
from wechat import simulator


def test_signature_matches_wechats_published_sample():
    cipher = (
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2"
        "LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIb"
        "gU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSV"
        "O/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM6"
        "69WuMyVWQLCzpu9GhglF2PE="
    )
    assert sign("spamtest", "1409735669", "1320562132", cipher) == "5d197aaffba7e9b25a30732f161a50dee96bd5fa"


def test_registry_keys_for_messages_and_events():
    assert registry.kind_of({"MsgType": "TEXT"}) == "text"
    assert registry.kind_of({"MsgType": "event", "Event": "SCAN"}) == "event:scan"
    assert (
        registry.kind_of({"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_dp:x"})
        == "event:subscribe_scan"
    )
    assert registry.handler_for("no-such-type") is registry.HANDLERS[registry.FALLBACK]


def test_dedupe_keys():
    text = simulator.message("text", "o-1", "hi", msg_id=42, create_time=100)
    assert dedupe_key(text) == "msg:42"
    click = simulator.event("click", "o-1", "MY_REPORTS", create_time=100)
    other = simulator.event("click", "o-1", "COMPLAIN", create_time=100)
    assert dedupe_key(click) == dedupe_key(dict(click))  # a retry repeats every field
    assert dedupe_key(click) != dedupe_key(other)  # two clicks in one second are two events
    assert dedupe_key(click).startswith("evt:o-1:100:click:")


def test_sealed_messages_round_trip_in_every_mode():
    keys = simulator.Keys("tok", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx-unit")
    fields = simulator.event("scancode_waitmsg", "o-2", "http://x/d/abc")
    for mode in simulator.MODES:
        query, body = simulator.signed(fields, keys, mode=mode, timestamp=1, nonce="n")
        envelope = xmltodict.parse(body)["xml"]
        if mode == "plain":
            xml = body.decode()
        else:
            assert sign("tok", "1", "n", envelope["Encrypt"]) == query["msg_signature"]
            xml = keys.crypto().decrypt_message(envelope, query["msg_signature"], "1", "n")
        parsed = parse_message(xml)
        assert parsed.scan_result == "http://x/d/abc" and parsed.source == "o-2"
