"""The official account's custom menu, published through the API (`flask wechat menu`), so that nobody types the
keys the bot answers by hand in WeChat's admin page."""

import json

import click
from flask import current_app
from flask.cli import with_appcontext

import wechat
from bot.handlers import asking

SCAN_KEY = "SCAN_DOORPLATE"  # a scancode_waitmsg button: the bot reads the doorplate code WeChat's scanner found


def menu(*, miniapp_appid: str = "", miniapp_page: str = "pages/index/index", fallback_url: str = "") -> dict:
    """The menu: report / my reports and progress / complaints, a doorplate scan button and the mini-program."""
    report = [
        {"type": "click", "name": "我要报警", "key": "REPORT"},
        {"type": "scancode_waitmsg", "name": "扫门牌报警", "key": SCAN_KEY},
    ]
    if miniapp_appid:
        report.append(
            {
                "type": "miniprogram",
                "name": "小程序报警",
                "appid": miniapp_appid,
                "pagepath": miniapp_page,
                "url": fallback_url,  # what old clients without mini-program support open
            }
        )
    return {
        "button": [
            {"name": "报警", "sub_button": report},
            {
                "name": "查询",
                "sub_button": [
                    {"type": "click", "name": "我的报警", "key": "MY_REPORTS"},
                    {"type": "click", "name": "办理进度", "key": "PROGRESS"},
                ],
            },
            {
                "name": "投诉",
                "sub_button": [
                    {"type": "click", "name": "投诉举报", "key": "COMPLAIN"},
                    {"type": "click", "name": "我的投诉", "key": "MY_COMPLAINTS"},
                ],
            },
        ]
    }


def keys_of(published: dict) -> set[str]:
    """The click keys a menu sends (each must be one the bot answers)."""
    return {
        button["key"]
        for top in published["button"]
        for button in top.get("sub_button", [top])
        if button.get("type") == "click"
    }


@click.command("menu")
@click.option("--print", "only_print", is_flag=True, help="Print the menu instead of publishing it.")
@with_appcontext
def menu_command(only_print: bool):
    """Publish the official account's menu (the keys the bot answers, the scan button, the mini-program)."""
    config = current_app.config
    published = menu(
        miniapp_appid=config.get("MINIAPP_APPID") or "",
        fallback_url=config["PUBLIC_BASE_URL"].rstrip("/") + "/",
    )
    unknown = keys_of(published) - set(asking.MENU)
    if unknown:
        raise click.ClickException(f"menu keys the bot does not answer: {', '.join(sorted(unknown))}")
    if only_print:
        click.echo(json.dumps(published, ensure_ascii=False, indent=2))
        return
    wechat.client("oa").create_menu(published)
    click.echo("公众号菜单已发布")
