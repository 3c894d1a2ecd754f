"""The README's demo command, run as written, serves the demo (on a SQLite file of its own)."""

import os
import re
import shlex
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
        except (requests.ConnectionError, requests.Timeout):  # a handed-over socket queues until served
            time.sleep(0.3)
    raise AssertionError(process.stdout.read() if process.poll() is not None else f"{url} never answered")


def listening() -> socket.socket:
    """A loopback socket bound once and listening, to hand to the demo's servers (no pick-a-port-then-bind)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def demo_env(tmp_path, app_socket: socket.socket, fake_socket: socket.socket) -> dict:
    port, fake_port = app_socket.getsockname()[1], fake_socket.getsockname()[1]
    return {
        **os.environ,
        "PORT": str(port),
        "FAKE_WECHAT_PORT": str(fake_port),
        "SERVER_FD": str(app_socket.fileno()),
        "FAKE_WECHAT_FD": str(fake_socket.fileno()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "WX110_ENV_FILE": str(tmp_path / "demo.env"),
    }


def start_demo(tmp_path, *drop: str, prefix: tuple[str, ...] = ()):
    """`./wx110 demo` serving on two sockets bound here and handed over; returns the process and both ports.
    `prefix` runs it under another command (e.g. `faketime <moment>`)."""
    app_socket, fake_socket = listening(), listening()
    env = demo_env(tmp_path, app_socket, fake_socket)
    for name in ("REDIS_URL", "WECHAT_API_BASE", "PUBLIC_BASE_URL", *drop):
        env.pop(name, None)
    process = subprocess.Popen(
        [*prefix, "bash", "./wx110", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        pass_fds=(app_socket.fileno(), fake_socket.fileno()),
    )
    ports = app_socket.getsockname()[1], fake_socket.getsockname()[1]
    app_socket.close()  # the demo's servers hold their own copies
    fake_socket.close()
    return process, env, ports


def test_wx110_demo_starts_the_service_with_demo_data(tmp_path):
    process, _env, (port, fake_port) = start_demo(tmp_path)
    try:
        ready = wait_for(f"http://127.0.0.1:{port}/readyz", process)
        assert ready.status_code == 200
        assert ready.json()["redis"]["mode"] == "in-process"
        token = wait_for(
            f"http://127.0.0.1:{fake_port}/cgi-bin/stable_token",
            process,
            method="post",
            json={"appid": "wx-demo-oa", "secret": "demo-secret"},
        )
        assert "access_token" in token.json()
        index = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert index.status_code == 200 and "110微信报警服务" in index.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "incidents=5" in output
    assert "Traceback" not in output and "ERROR" not in output, output  # a fresh start is clean


def test_demo_callback_answers_a_signed_message_like_wechat(tmp_path):
    """`./wx110 flask wechat send` against the running demo gets the bot's reply (the demo's own .env)."""
    process, env, (port, _fake_port) = start_demo(tmp_path, "WECHAT_TOKEN", "WECHAT_AES_KEY")
    for name in ("SERVER_FD", "FAKE_WECHAT_FD"):
        env.pop(name)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", process)
        sent = subprocess.run(
            ["bash", "./wx110", "flask", "wechat", "send", "text", "楼下有人打架", "--from", "o-e2e"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sent.returncode == 0, sent.stderr
        assert "JQ" in sent.stdout and "已收到" in sent.stdout
        assert "WECHAT_AES_KEY=" in (tmp_path / "demo.env").read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=30)


LONG_RUNNING = ("worker", "scheduler", "run")  # servers: they start, and never end on their own


def readme_examples() -> list[str]:
    """Every command line of the README's `sh` blocks that runs a flask command, in the README's order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"^```sh\n(.*?)^```", readme, re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if re.match(r"(\./wx110 )?flask ", command):
                lines.append(command)
    return lines


def as_run(command: str, tmp_path, found: dict) -> list[str]:
    """The README line as the test runs it: through ./wx110, optional [parts] left out, files in tmp_path,
    <placeholders> filled from what the demo data and the earlier examples printed."""
    command = re.sub(r"^(\./wx110 )?flask( --app wsgi)?", "./wx110 flask", command)
    command = re.sub(r"\s*\[[^\]]*\]", "", command)
    for placeholder, value in found.items():
        command = command.replace(placeholder, value)
    args = shlex.split(command)
    return [str(tmp_path / a) if re.fullmatch(r"[\w-]+\.(csv|pdf|png)", a) else a for a in args]


def test_every_readme_example_runs_on_the_demo_data(tmp_path):
    examples = readme_examples()
    assert len(examples) >= 15 and all("<" not in e or "<doorplate token>" in e or "<incident" in e for e in examples)
    (tmp_path / "doorplates.csv").write_text(
        "code,address,longitude,latitude,unit\nDH-0100,示范市东湖区东湖路100号,120.1551,30.2741,33010201\n",
        encoding="utf-8",
    )
    process, env, (port, _fake_port) = start_demo(tmp_path, "WECHAT_TOKEN", "WECHAT_AES_KEY")
    for name in ("SERVER_FD", "FAKE_WECHAT_FD"):
        env.pop(name)
    ran, found = [], {}
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", process)
        for example in examples:
            args = as_run(example, tmp_path, found)
            if args[2] in LONG_RUNNING or args[1] != "flask":
                continue
            done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            output = done.stdout + done.stderr
            assert done.returncode == 0 and "Traceback" not in output, (example, output)
            ran.append(example)
            if number := re.search(r"JQ\d{14}", done.stdout):
                found.setdefault("<incident number>", number.group(0))
            if args[2:4] == ["doorplates", "list"]:
                found["<doorplate token>"] = done.stdout.splitlines()[0].split("\t")[2]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "Traceback" not in output, output
    assert len(ran) == len([e for e in examples if not re.search(r"flask( --app wsgi)? (worker|scheduler)", e)])
