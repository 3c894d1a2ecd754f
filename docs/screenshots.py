"""Take the README's console screenshots: the demo world on a throw-away SQLite file, WeChat as the loopback fake,
headless Chromium through Playwright.

    .venv/bin/python docs/screenshots.py        # writes the console-*.png pictures beside it
"""

import os
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flask_migrate import upgrade  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from casework import seed  # noqa: E402
from casework.db import db  # noqa: E402
from casework.models import Incident  # noqa: E402
from server import create_app  # noqa: E402
from wechat.fake import FakeWeChat  # noqa: E402

SHOTS = ("console-queue.png", "console-case.png", "console-admin-units.png", "console-admin-doorplates.png")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def fonts(workdir: Path) -> dict:
    """Fontconfig for the browser: the system's fonts, then the label font vendored under qr/fonts/ (a CJK
    subset), so that the pictures show Chinese even on a machine without a Chinese system font."""
    conf = workdir / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{HERE.parent / 'qr' / 'fonts'}</dir>\n  <cachedir>{workdir / 'fontcache'}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return {"FONTCONFIG_FILE": str(conf)}


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="wx110-shots-"))
    fake = FakeWeChat().start()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'demo.sqlite3'}",
            "REDIS_URL": None,
            "WECHAT_API_BASE": fake.base_url,
            "MEDIA_ROOT": str(workdir / "media"),
            "CONSOLE_SECURE_COOKIES": False,
            "SECRET_KEY": os.urandom(16).hex(),
        }
    )
    with app.app_context():
        upgrade()
        seed.load_demo()
        db.session.commit()
        case = db.session.scalar(select(Incident).where(Incident.unit_id.is_not(None)).order_by(Incident.id))
        case_id = case.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=ARGS, env={**os.environ, **fonts(workdir)}
            )
            page = browser.new_page(viewport={"width": 1280, "height": 760}, locale="zh-CN")
            page.goto(f"{base}/console/login")
            page.fill("#badge_no", "100001")
            page.fill("#password", seed.DEMO_PASSWORD)
            page.click("#login")
            page.wait_for_selector("table.queue")
            page.screenshot(path=str(HERE / "console-queue.png"))
            page.goto(f"{base}/console/incidents/{case_id}")
            page.wait_for_selector("#reply")
            page.screenshot(path=str(HERE / "console-case.png"), full_page=True)
            admin = browser.new_page(viewport={"width": 1280, "height": 760}, locale="zh-CN")
            admin.goto(f"{base}/console/login")
            admin.fill("#badge_no", "100000")
            admin.fill("#password", seed.DEMO_PASSWORD)
            admin.click("#login")
            admin.goto(f"{base}/console/admin/units")
            admin.wait_for_selector("#units")
            admin.screenshot(path=str(HERE / "console-admin-units.png"))
            admin.goto(f"{base}/console/admin/doorplates/")
            admin.wait_for_selector("#doorplates")
            admin.screenshot(path=str(HERE / "console-admin-doorplates.png"))
            browser.close()
    finally:
        server.shutdown()
        fake.stop()
    print(f"wrote {', '.join(SHOTS)} under {HERE}")


if __name__ == "__main__":
    main()
