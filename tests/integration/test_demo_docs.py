"""What the README tells a newcomer to type works on the demo data: `/` is a Chinese index page, `flask doorplates
list` prints the tokens `send scan dp:<token>` needs, the doorplate examples run, the fake API holds the sample
video `send video` names, and the fake login takes any code."""

import io
import re
from pathlib import Path

import av
import requests

from casework import doorplates, seed
from casework.db import db
from wechat.fake import SAMPLE_VIDEO_MEDIA_ID

ROOT = Path(__file__).resolve().parents[2]


def test_the_index_page_is_chinese_and_links_what_there_is(app, world):
    db.session.commit()
    page = app.test_client().get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "110微信报警服务" in text
    doorplate_link = re.search(r'id="doorplate-demo" href="([^"]+)"', text).group(1)
    assert app.test_client().get(doorplate_link).status_code == 200
    assert 'href="/api/miniapp/v1/openapi.json"' in text
    assert app.test_client().get("/api/miniapp/v1/openapi.json").status_code == 200


def test_doorplates_list_and_the_readme_doorplate_examples_run_on_the_demo_data(app, world):
    db.session.commit()
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["doorplates", "list"])
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.output.strip().splitlines()]
    by_code = {code: (address, token) for code, address, token in rows}
    assert by_code["DH-0001"] == ("示范市东湖区东湖路1号", doorplates.token_for(doorplates.by_code("DH-0001")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in re.findall(r"^flask doorplates (revoke|move) ([^#\n]+?)\s*(?:#.*)?$", readme, re.MULTILINE):
        args = ["doorplates", line[0], *re.findall(r'"[^"]*"|\S+', line[1])]
        done = runner.invoke(args=[a.strip('"') for a in args])
        assert done.exit_code == 0, (args, done.output)
        db.session.rollback()
    listed = runner.invoke(args=["doorplates", "list"]).output
    assert "DH-0001" not in listed and "DH-0003" not in listed  # revoked, moved
    assert "DH-0001" in runner.invoke(args=["doorplates", "list", "--all"]).output


def test_the_fake_api_holds_the_sample_video_and_takes_any_login_code(fake):
    assert SAMPLE_VIDEO_MEDIA_ID == "MEDIA123"
    token = requests.get(f"{fake.base_url}/cgi-bin/token", params={"appid": "a", "secret": "s"}, timeout=10).json()
    video = requests.get(
        f"{fake.base_url}/cgi-bin/media/get",
        params={"media_id": "MEDIA123", "access_token": token["access_token"]},
        timeout=10,
    ).json()
    played = requests.get(video["video_url"], timeout=10).content
    assert played[4:8] == b"ftyp"
    # the sample is a real video an officer's player can show: it decodes to frames of its size
    with av.open(io.BytesIO(played)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) >= 5 and (frames[0].width, frames[0].height) == (160, 120)
    first = requests.get(f"{fake.base_url}/sns/jscode2session", params={"js_code": "0a1b2c"}, timeout=10).json()
    again = requests.get(f"{fake.base_url}/sns/jscode2session", params={"js_code": "0a1b2c"}, timeout=10).json()
    assert first["openid"] == again["openid"] and first["openid"].startswith("o-fake-")
    named = requests.get(f"{fake.base_url}/sns/jscode2session", params={"js_code": "code-alice"}, timeout=10).json()
    assert named["openid"] == "alice"


def test_the_readme_and_flask_demo_list_the_same_officers_from_the_roster(app, ctx):
    """One source for the demo officers: the README's block is the roster as generated, and `flask demo` prints it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- demo-roster[^>]*-->\n(.*?)<!-- /demo-roster -->", readme, re.DOTALL).group(1)
    expected = "".join(f"- {line}\n" for line in seed.roster())
    assert block == expected, "regenerate the README's demo-roster block from seed.roster()"
    assert {line.split()[0] for line in seed.roster()} == {badge for badge, *_ in seed.OFFICERS}
    printed = app.test_cli_runner().invoke(args=["demo"]).output
    for line in seed.roster():
        assert f"  {line}\n" in printed
