"""The whole service run as of 28 December 2026 under libfaketime (`faketime`, which `./wx110 test` installs): the
demo seeds, a complaint sent through the official account is filed with a provisional answer date in January
2027, `flask calendar show 2027 --json` lists 春节 as provisional, and importing the 2027 notice with a make-up
working day moves that complaint's date and says so. The service reads the clock at each use, so nothing here is
frozen inside the code: the whole process lives on 28 December."""

import json
import os
import re
import signal
import subprocess

import pytest

from tests import services
from tests.e2e.test_demo_command import ROOT, start_demo, wait_for

MOMENT = "2026-12-28 02:00:00"  # UTC: 10:00 in Beijing, a Monday


@pytest.fixture
def faked():
    services.require("faketime", services.faketime_problem())
    return ["faketime", MOMENT]


def run(env, *args, faked) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*faked, "bash", "./wx110", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def test_the_service_as_of_28_december_files_a_complaint_with_a_provisional_date(tmp_path, faked):
    process, env, (port, _fake_port) = start_demo(tmp_path, "WECHAT_TOKEN", "WECHAT_AES_KEY", "TZ", prefix=tuple(faked))
    for name in ("SERVER_FD", "FAKE_WECHAT_FD"):
        env.pop(name)
    try:
        ready = wait_for(f"http://127.0.0.1:{port}/readyz", process)
        assert ready.status_code == 200
        said = run(env, "wechat", "send", "text", "小区门口电动车被盗", "--from", "o-faketime", faked=faked).stdout
        assert re.search(r"JQ20261228\d{6}", said), said  # numbered on the faked day
        asked = run(env, "wechat", "send", "text", "投诉", "--from", "o-faketime", faked=faked).stdout
        assert "请写明投诉的事实和诉求" in asked, asked  # one report: it is the one complained about
        filed = run(env, "wechat", "send", "text", "民警一直没有回电话", "--from", "o-faketime", faked=faked).stdout
        number = re.search(r"TS20261228\d{6}", filed)
        # 7 working days from Mon 28 Dec 10:00 on the statutory holidays of 2027: 7 Jan 10:00, provisional.
        assert number and "答复期限 2027年1月7日 10:" in filed and "暂定" in filed, filed

        shown = json.loads(run(env, "calendar", "show", "2027", "--json", faked=faked).stdout)
        assert shown["provisional"] and shown["source"] == "provisional"
        assert [h["name"] for h in shown["holidays"] if h["date"].startswith("2027-02")][:2] == ["春节", "春节"]

        notice = tmp_path / "2027.csv"
        notice.write_text("date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,workday,调休上班\n", encoding="utf-8")
        moved = run(env, "calendar", "import", str(notice), faked=faked).stdout
        assert f"{number.group(0)} due_at: 2027-01-07 10:" in moved and "-> 2027-01-06 10:" in moved, moved
        assert "COMPLAINT_UNANSWERED" in moved  # its 督察 clock moved with it
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "Traceback" not in output, output
    assert re.search(r"complaints=\d", output)  # `flask demo` seeded on the faked day
