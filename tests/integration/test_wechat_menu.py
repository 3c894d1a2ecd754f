"""`flask wechat menu` publishes the official account's menu through the API: every click key is one the bot
answers, the scan button is the doorplate scanner, and the mini-program entry appears when it is configured."""

import pytest

from bot import menu
from bot.handlers import asking
from tests.wechat_side import wechat_config


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_menu_is_published_with_the_keys_the_bot_answers(make_app, fake, backend):
    app = make_app(**wechat_config(fake, MINIAPP_APPID="wx-mini-menu"))
    result = app.test_cli_runner().invoke(args=["wechat", "menu"])
    assert result.exit_code == 0, result.output
    published = fake.menu
    assert published is not None and len(published["button"]) <= 3
    assert menu.keys_of(published) == set(asking.MENU)  # every key answered, every answer reachable
    buttons = [b for top in published["button"] for b in top["sub_button"]]
    assert all(len(top["sub_button"]) <= 5 for top in published["button"])  # WeChat's limits
    assert {"type": "scancode_waitmsg", "name": "扫门牌报警", "key": menu.SCAN_KEY} in buttons
    assert [b["appid"] for b in buttons if b["type"] == "miniprogram"] == ["wx-mini-menu"]
