"""`/`: a small Chinese page pointing at what a visitor of the demo can open (the doorplate pages, the
mini-program's API document and, when it is installed, the officers' console)."""

from flask import Blueprint, current_app, render_template_string
from sqlalchemy import select

from casework import doorplates
from casework.db import db
from casework.models import Doorplate, DoorplateStatus
from console import simulator

bp = Blueprint("index", __name__)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>110微信报警服务</title>
<style>body{font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;
max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.7;color:#1d2129}a{color:#1f6feb}</style>
</head><body>
<h1>110微信报警服务</h1>
<p>紧急情况请直接拨打110。</p>
<ul>
{% if doorplate_url %}
<li><a id="doorplate-demo" href="{{ doorplate_url }}">门牌扫码报警页面(示例门牌 {{ doorplate_code }})</a></li>
{% endif %}
<li><a id="api-document" href="/api/miniapp/v1/openapi.json">小程序接口文档(OpenAPI)</a></li>
{% if console_url %}<li><a id="console" href="{{ console_url }}">民警工作台</a></li>{% endif %}
{% if simulator_url %}<li><a id="simulator" href="{{ simulator_url }}">微信模拟器(开发演示用)</a></li>{% endif %}
<li><a href="/healthz">服务状态</a></li>
</ul>
<p>公众号消息回调地址:<code>/wechat</code>。列出门牌及其令牌:<code>flask doorplates list</code>。</p>
</body></html>
"""


@bp.get("/")
def index():
    doorplate = db.session.scalar(
        select(Doorplate).where(Doorplate.status == DoorplateStatus.ACTIVE.value).order_by(Doorplate.code).limit(1)
    )
    doorplate_url = f"/d/{doorplates.token_for(doorplate)}" if doorplate is not None else None
    console_url = "/console/" if "console" in current_app.blueprints else None
    simulator_url = "/console/simulator/" if "simulator" in current_app.blueprints and simulator.enabled() else None
    db.session.rollback()
    return render_template_string(
        PAGE,
        doorplate_url=doorplate_url,
        doorplate_code=doorplate.code if doorplate is not None else "",
        console_url=console_url,
        simulator_url=simulator_url,
    )
