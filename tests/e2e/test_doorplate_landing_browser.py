"""The landing page in headless Chromium: the address shows in real Chinese glyphs (screenshot, DOM and pixel
checks), and its web form creates an incident bound to the doorplate."""

import io

import pytest
from PIL import Image, ImageChops
from sqlalchemy import select

from casework import doorplates, seed
from casework.db import db
from casework.models import Incident
from casework.status import Channel
from tests.live_server import serving


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live(make_app):
    app = make_app(MINIAPP_APPID="wx-mini-test")
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        with serving(app, public=True) as base_url:
            yield base_url
        db.session.remove()


def image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("L")


def ink(picture: Image.Image) -> int:
    return sum(picture.histogram()[:128])


def glyph_shots(page, font_family: str, chars: str) -> list[Image.Image]:
    """Each character drawn alone, large, in `font_family`, as the browser renders it."""
    page.evaluate(
        """([family, chars]) => {
        const box = document.createElement('div');
        box.id = 'glyphs';
        for (const c of chars) {
            const span = document.createElement('span');
            span.textContent = c;
            span.style.cssText = `font-family:${family};font-size:64px;line-height:80px;display:inline-block;`
                + 'width:80px;text-align:center;background:#fff;color:#000';
            box.appendChild(span);
        }
        document.body.prepend(box);
    }""",
        [font_family, chars],
    )
    shots = [image(span.screenshot()) for span in page.locator("#glyphs span").all()]
    page.evaluate("document.getElementById('glyphs').remove()")
    return shots


def assert_real_glyphs(shots: list[Image.Image]) -> None:
    for shot in shots:
        assert ink(shot) > 300, "a character rendered blank"
    for first in range(len(shots)):
        for second in range(first + 1, len(shots)):
            assert ImageChops.difference(shots[first], shots[second]).getbbox(), "identical glyphs: tofu boxes"


def test_landing_page_shows_the_chinese_address_and_its_form_reports(live, phone):
    plate = doorplates.by_code("DH-0003")
    token = doorplates.token_for(plate)
    address, station = plate.address, plate.unit.name
    db.session.rollback()
    response = phone.goto(f"{live}/d/{token}")
    assert response.status == 200
    phone.evaluate("document.fonts.ready")
    assert phone.locator("#address").inner_text() == address
    assert phone.locator("#station").inner_text() == station
    assert "紧急情况请直接拨打110" in phone.locator("a.emergency").inner_text()
    assert phone.locator("#open-miniapp").get_attribute("href").startswith("weixin://dl/business/?appid=wx-mini-test")

    shot = image(phone.screenshot(full_page=True))
    low, high = shot.getextrema()
    assert high - low > 100
    assert ink(shot) > 2000, "the screenshot is blank"
    address_shot = image(phone.locator("#address").screenshot())
    assert ink(address_shot) > 500
    family = phone.locator("#address").evaluate("e => getComputedStyle(e).fontFamily")
    assert_real_glyphs(glyph_shots(phone, family, "东湖滨街号"))

    phone.fill("#description", "楼下有人在撬电动车锁,两个人,穿黑衣服")
    phone.fill("#phone", "13800138000")
    phone.click("#submit")
    phone.wait_for_selector("#incident-number")
    number = phone.locator("#incident-number").inner_text()
    db.session.rollback()
    incident = db.session.scalar(select(Incident).where(Incident.number == number))
    assert incident is not None and incident.doorplate_id == plate.id
    assert incident.channel == Channel.WEB.value and incident.address == address
    assert incident.description.startswith("楼下有人在撬电动车锁")
    db.session.rollback()
    # No SMS gateway is configured here (SMS_SENDER=log): the page says no text was sent and shows the link itself.
    outcome = phone.locator("#sms-outcome")
    assert outcome.get_attribute("data-outcome") == "not_configured"
    assert "没有发送短信" in outcome.inner_text() and "已通过短信" not in phone.inner_text("body")
    assert "/t/" in phone.locator("#tracking-url").inner_text()


GATEWAY_TEXTS: list[tuple[str, str]] = []


class _Gateway:
    """A deployment's SMS gateway, as `SMS_SENDER=package.module:factory` names one (a test stand-in)."""

    delivers = True

    def __init__(self, app):
        pass

    def send(self, phone: str, text: str) -> None:
        GATEWAY_TEXTS.append((phone, text))


def test_with_a_gateway_the_page_says_the_link_went_by_sms(make_app, phone):
    app = make_app(SMS_SENDER=f"{__name__}:_Gateway")
    with app.app_context():
        seed.load_world()
        token = doorplates.token_for(doorplates.by_code("DH-0001"))
        db.session.rollback()
        with serving(app, public=True) as base_url:
            phone.goto(f"{base_url}/d/{token}")
            phone.fill("#description", "门口有人打架")
            phone.fill("#phone", "13800138001")
            phone.click("#submit")
            phone.wait_for_selector("#incident-number")
            assert phone.locator("#sms-outcome").get_attribute("data-outcome") == "sent"
            assert "已通过短信发到您的手机" in phone.locator("#sms-outcome").inner_text()
            assert phone.locator("#tracking-url").count() == 0
        db.session.remove()
    assert GATEWAY_TEXTS and GATEWAY_TEXTS[-1][0] == "13800138001"


def test_vendored_web_font_renders_chinese_where_the_system_has_none(live, phone):
    """Forced to the served font alone, so this holds on a machine with no Chinese system font at all."""
    token = doorplates.token_for(doorplates.by_code("DH-0001"))
    db.session.rollback()
    phone.goto(f"{live}/d/{token}")
    loaded = phone.evaluate("""async () => {
        const faces = await document.fonts.load('64px "WX110 Sans SC"', '东湖');
        return faces.length;
    }""")
    assert loaded >= 1
    assert_real_glyphs(glyph_shots(phone, '"WX110 Sans SC"', "东湖滨街号"))


def test_forged_code_shows_the_404_page_in_the_browser(live, phone):
    token = doorplates.token_for(doorplates.by_code("DH-0001"))
    db.session.rollback()
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = phone.goto(f"{live}/d/{forged}")
    assert response.status == 404
    assert "二维码无效" in phone.locator("#invalid").inner_text()
    assert phone.locator("form").count() == 0
