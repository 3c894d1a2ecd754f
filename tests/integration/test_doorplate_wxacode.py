"""Mini-program codes per doorplate, fetched through `wechat/` from the loopback fake WeChat API and cached."""

import uuid

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from casework import doorplate_import, doorplates, seed
from casework.db import db
from casework.models import OutboxMessage, System
from qr import links, wxacode
from wechat.fake import FakeWeChat

HEADER = "code,address,longitude,latitude,unit\n"


@pytest.fixture
def fake():
    # A fresh app id per test: the client keeps a process-local token per app id, which another test's fake
    # server would not know.
    server = FakeWeChat({f"wx-mini-{uuid.uuid4().hex[:8]}": "mini-secret"}).start()
    server.appid = next(iter(server.appids))
    yield server
    server.stop()


def mini_app(make_app, fake, tmp_path, **extra):
    return make_app(
        MINIAPP_APPID=fake.appid,
        MINIAPP_SECRET="mini-secret",
        WECHAT_API_BASE=fake.base_url,
        MEDIA_ROOT=str(tmp_path / "media"),
        **extra,
    )


def drain(app) -> None:
    db.session.commit()  # end our transaction: on SQLite it holds the lock the job needs
    app.extensions["wx110.dispatcher"].drain()


def test_import_fetches_a_code_per_new_doorplate_once(make_app, fake, tmp_path):
    app = mini_app(make_app, fake, tmp_path)
    with app.app_context():
        seed.load_world()
        data = (
            HEADER + "WX-1,示范市东湖区小程序路1号,120.1,30.2,33010201\n"
            "WX-2,示范市东湖区小程序路2号,120.1,30.2,33010201\n"
        ).encode()
        doorplate_import.import_csv(data, actor=System("test"))
        drain(app)
        calls = fake.sent("/wxa/getwxacodeunlimit")
        assert len(calls) == 2
        for code in ("WX-1", "WX-2"):
            plate = doorplates.by_code(code)
            token = doorplates.token_for(plate)
            path = wxacode.cache_path(plate)
            assert path.is_file()
            assert any(c.body["scene"] == token and c.body["page"] == "pages/report/index" for c in calls)
            decoded = zxingcpp.read_barcodes(Image.open(path))
            assert decoded[0].text == f"wxacode:pages/report/index?scene={token}"
            assert doorplates.doorplate_from_token(token).id == plate.id
            assert wxacode.fetch(plate) == path.read_bytes()
        assert len(fake.sent("/wxa/getwxacodeunlimit")) == 2  # served from the cache
        doorplate_import.import_csv(data, actor=System("test"))  # unchanged: nothing new to fetch
        drain(app)
        assert len(fake.sent("/wxa/getwxacodeunlimit")) == 2
        done = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.job == "doorplates.fetch_wxacodes", OutboxMessage.done_at.is_not(None))
        )
        assert done == 1


def test_rotating_the_key_fetches_a_new_code(make_app, fake, tmp_path):
    app = mini_app(make_app, fake, tmp_path, QR_KEYS="a:first-key-0123456789")
    with app.app_context():
        seed.load_world()
        plate = doorplates.by_code("DH-0001")
        first = wxacode.cache_path(plate)
        wxacode.fetch(plate)
        db.session.remove()
    rotated = mini_app(make_app, fake, tmp_path, QR_KEYS="b:second-key-0123456789,a:first-key-0123456789")
    with rotated.app_context():
        plate = doorplates.by_code("DH-0001")
        assert wxacode.cache_path(plate) != first
        wxacode.fetch(plate)
        scenes = [c.body["scene"][0] for c in fake.sent("/wxa/getwxacodeunlimit")]
        assert scenes == ["a", "b"]
        db.session.remove()


def test_cli_fetches_and_without_credentials_nothing_is_fetched(make_app, fake, tmp_path):
    app = mini_app(make_app, fake, tmp_path)
    with app.app_context():
        seed.load_world()
    result = app.test_cli_runner().invoke(args=["doorplates", "wxacode", "DH-0001", "JB-0002"])
    assert result.exit_code == 0, result.output
    assert "DH-0001" in result.output and len(fake.sent("/wxa/getwxacodeunlimit")) == 2

    plain = make_app(
        MINIAPP_APPID="", MINIAPP_SECRET="", WECHAT_API_BASE=fake.base_url, MEDIA_ROOT=str(tmp_path / "plain-media")
    )
    with plain.app_context():
        doorplate_import.import_csv(
            (HEADER + "WX-9,示范市东湖区小程序路9号,120.1,30.2,33010201\n").encode(), actor=System("test")
        )
        drain(plain)  # the new doorplate's job runs and, without mini-program credentials, fetches nothing
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.job == "doorplates.fetch_wxacodes", OutboxMessage.done_at.is_not(None))
            )
            == 1
        )
        assert len(fake.sent("/wxa/getwxacodeunlimit")) == 2
        assert not (tmp_path / "plain-media" / "wxacode").exists()
        db.session.remove()
    assert plain.test_cli_runner().invoke(args=["doorplates", "wxacode"]).exit_code != 0


def test_official_account_scene_resolves_back_to_the_doorplate(make_app, fake, tmp_path):
    app = make_app(WECHAT_APPID=fake.appid, WECHAT_SECRET="mini-secret", WECHAT_API_BASE=fake.base_url)
    with app.app_context():
        seed.load_world()
        plate = doorplates.by_code("XH-0001")
        scene = links.scene_for_doorplate(plate)
        assert len(scene) <= 64
        answer = wxacode.official_account_qrcode(plate)
        assert answer["ticket"].startswith("TICKET_")
        assert fake.sent("/cgi-bin/qrcode/create")[-1].body["action_info"]["scene"]["scene_str"] == scene
        assert doorplates.doorplate_from_scan(scene).id == plate.id
        assert doorplates.doorplate_from_scan("qrscene_" + scene).id == plate.id
        assert doorplates.doorplate_from_scan(links.url_for_doorplate(plate)).id == plate.id
        assert doorplates.doorplate_from_scan("https://elsewhere.example/d/x") is None
        db.session.remove()
