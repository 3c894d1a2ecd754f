"""The README's demo command, run as written, serves the demo (on a SQLite file of its own)."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def wait_for(url: str, process: subprocess.Popen, *, method: str = "get", **kwargs) -> requests.Response:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return requests.request(method, url, timeout=2, **kwargs)
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError(process.stdout.read() if process.poll() is not None else f"{url} never answered")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wx110_demo_starts_the_service_with_demo_data(tmp_path):
    port, fake_port = free_port(), free_port()
    env = {**os.environ, "PORT": str(port), "FAKE_WECHAT_PORT": str(fake_port),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media"),
           "WX110_ENV_FILE": str(tmp_path / "demo.env")}
    for name in ("REDIS_URL", "WECHAT_API_BASE", "PUBLIC_BASE_URL"):
        env.pop(name, None)
    process = subprocess.Popen(["bash", "./wx110", "demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        ready = wait_for(f"http://127.0.0.1:{port}/readyz", process)
        assert ready.status_code == 200
        assert ready.json()["redis"]["mode"] == "in-process"
        token = wait_for(f"http://127.0.0.1:{fake_port}/cgi-bin/stable_token", process, method="post",
                         json={"appid": "wx-demo-oa", "secret": "demo-secret"})
        assert "access_token" in token.json()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "incidents=3" in output


def test_demo_callback_answers_a_signed_message_like_wechat(tmp_path):
    """`./wx110 flask wechat send` against the running demo gets the bot's reply (the demo's own .env)."""
    port, fake_port = free_port(), free_port()
    env = {**os.environ, "PORT": str(port), "FAKE_WECHAT_PORT": str(fake_port),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media"),
           "WX110_ENV_FILE": str(tmp_path / "demo.env")}
    for name in ("REDIS_URL", "WECHAT_API_BASE", "PUBLIC_BASE_URL", "WECHAT_TOKEN", "WECHAT_AES_KEY"):
        env.pop(name, None)
    process = subprocess.Popen(["bash", "./wx110", "demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", process)
        sent = subprocess.run(["bash", "./wx110", "flask", "wechat", "send", "text", "楼下有人打架", "--from", "o-e2e"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert sent.returncode == 0, sent.stderr
        assert "JQ" in sent.stdout and "已收到" in sent.stdout
        assert "WECHAT_AES_KEY=" in (tmp_path / "demo.env").read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=30)
