"""`flask wechat send`: someone without WeChat credentials can try every path against a running callback."""

import pytest

from tests.wechat_side import serving, wechat_config


@pytest.mark.parametrize("backend", ["sqlite"])
def test_send_signs_posts_and_prints_the_reply(make_app, fake, backend):
    app = make_app(**wechat_config(fake))
    fake.media["CLI_VIDEO"] = ("video/mp4", b"\x00" * 64)  # the video the citizen sends, fetched by a job
    runner = app.test_cli_runner()
    with serving(app) as url:

        def send(*args):
            result = runner.invoke(args=["wechat", "send", *args, "--from", "o-cli", "--url", url])
            assert result.exit_code == 0, result.output
            return result.output

        assert "safe mode" in send("subscribe") and "110" in send("subscribe")
        out = send("text", "小区门口有人打架", "--mode", "plain")
        assert "HTTP 200 (plain mode)" in out and "警情编号" in out
        assert "JQ" in send("click", "MY_REPORTS", "--mode", "compatible")
        assert "正在接收" in send("video", "--media-id", "CLI_VIDEO")
        assert "位置" in send("location", "26.08,119.30", "--label", "某路口")
        assert "success" in send("location-event", "--lat", "26.1", "--lon", "119.3")
        retry = send("text", "同一条消息", "--msg-id", "31337")
        assert send("text", "同一条消息", "--msg-id", "31337") == retry
    app.extensions["wx110.dispatcher"].drain()
