"""The outbound WeChat client against the loopback fake API, with the token shared in real Redis."""

import threading

import pytest
import requests

from wechat.client import WeChatClient, WeChatError
from wechat.fake import FakeWeChat


@pytest.fixture
def fake():
    server = FakeWeChat({"wx-test": "secret-test"}).start()
    yield server
    server.stop()


def make_client(fake, redis, appid="wx-test", secret="secret-test"):
    return WeChatClient(base_url=fake.base_url, appid=appid, secret=secret, redis=redis, session=requests.Session())


def test_token_is_fetched_once_under_concurrency_and_shared(fake, redis):
    tokens, errors = [], []

    def worker():
        try:
            tokens.append(make_client(fake, redis).access_token())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(tokens)) == 1
    assert fake.token_fetches == 1


def test_rejected_token_is_refreshed_once_and_call_retried(fake, redis):
    client = make_client(fake, redis)
    first = client.access_token()
    fake.tokens.pop(first)  # WeChat invalidated it (e.g. someone called /cgi-bin/token elsewhere)
    client.send_text("openid-1", "您好")
    assert fake.token_fetches == 2
    sent = fake.sent("/cgi-bin/message/custom/send")
    assert sent[-1].body == {"touser": "openid-1", "msgtype": "text", "text": {"content": "您好"}}


def test_out_of_window_is_reported_as_45015(fake, redis):
    fake.outside_window.add("openid-2")
    with pytest.raises(WeChatError) as raised:
        make_client(fake, redis).send_text("openid-2", "进度更新")
    assert raised.value.errcode == 45015


def test_wrong_secret_is_an_error_not_a_hang(fake, redis):
    with pytest.raises(WeChatError) as raised:
        make_client(fake, redis, secret="wrong").access_token()
    assert raised.value.errcode == 40125


def test_video_download_follows_video_url_and_streams(fake, redis):
    payload = bytes(range(256)) * 4096  # 1 MiB
    fake.media["MEDIA_VIDEO"] = ("video/mp4", payload)
    fake.media["MEDIA_IMAGE"] = ("image/jpeg", b"\xff\xd8\xff" + b"x" * 100)
    client = make_client(fake, redis)
    with client.download_media("MEDIA_VIDEO") as response:
        received = b"".join(response.iter_content(65536))
    assert received == payload
    with client.download_media("MEDIA_IMAGE") as response:
        assert response.content.startswith(b"\xff\xd8\xff")
    with pytest.raises(WeChatError) as raised, client.download_media("MISSING"):
        pass
    assert raised.value.errcode == 40007


def test_code2session_and_wxacode(fake, redis):
    fake.unionids["mini-openid"] = "union-1"
    client = make_client(fake, redis)
    session = client.code2session("code-mini-openid")
    assert session["openid"] == "mini-openid" and session["unionid"] == "union-1"
    fake.refused_codes.add("bogus")  # an expired or used code (the fake takes any other)
    with pytest.raises(WeChatError):
        client.code2session("bogus")
    png = client.get_wxacode_unlimited("a" * 23, page="pages/report/index")
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ValueError):
        client.get_wxacode_unlimited("a" * 33)


def test_the_shared_token_is_read_from_redis_once_in_a_while_not_on_every_call(fake, redis):
    client = make_client(fake, redis)
    client.send_text("openid-memo", "第一条")
    redis.set(client._token_key, "a-token-only-redis-knows")  # changed behind the client's back
    client.send_text("openid-memo", "第二条")
    used = [call.params.get("access_token") for call in fake.sent("/cgi-bin/message/custom/send")]
    assert used[-1] == used[-2] != "a-token-only-redis-knows"  # the second call did not read Redis
    # A token WeChat rejects is asked for again: Redis is read, and, holding nothing better, a new one fetched.
    redis.delete(client._token_key)
    fake.tokens.pop(used[-1])
    client.send_text("openid-memo", "第三条")
    last = fake.sent("/cgi-bin/message/custom/send")[-1].params.get("access_token")
    assert last in fake.tokens and last != used[-1] and fake.token_fetches == 2
    assert redis.get(client._token_key).decode() == last
