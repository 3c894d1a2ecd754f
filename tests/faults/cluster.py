"""A whole deployment of the fault suite's own, so that its parts can be stopped and killed: a PostgreSQL cluster
(initdb + pg_ctl, as the `postgres` account when we are root) and a Redis server (append-only) in a temporary
directory, gunicorn as production runs it (2 workers x 8 threads), `flask worker --no-fork` processes and
`flask scheduler`, in queued reply mode, talking to the fake WeChat API of the test process.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests
from redis import Redis

from tests import wechat_side

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ["-w", "2", "-k", "gthread", "--threads", "8", "--timeout", "60", "--graceful-timeout", "5"]


def pg_bin() -> Path | None:
    """The newest PostgreSQL server programs on the machine (Debian's layout), or initdb on the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def problem() -> str | None:
    """None when the suite can start its own PostgreSQL and Redis, else what is missing."""
    if pg_bin() is None or not (pg_bin() / "pg_ctl").exists():
        return "PostgreSQL's server programs (initdb, pg_ctl) are not installed (Debian package postgresql)"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (Debian package redis-server)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` account to run PostgreSQL as"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


class Postgres:
    def __init__(self, root: Path):
        self.bin = pg_bin()
        self.data = root / "pg"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.user = "postgres"
            account = pwd.getpwnam("postgres")
            root.chmod(0o755)
            self.data.mkdir()
            os.chown(self.data, account.pw_uid, account.pw_gid)
        self.log = root / "pg.log"
        self.log.touch()
        if self.user:
            os.chown(self.log, pwd.getpwnam("postgres").pw_uid, -1)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.data}'",
            "max_connections = 200",
            "fsync = off",  # a killed server recovers from its WAL either way; only an OS crash needs fsync
            "full_page_writes = off",
            "shared_buffers = 32MB",
        ]
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n".join(options) + "\n")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/wx110"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / program), *args], user=self.user, check=True, capture_output=True, cwd=self.data.parent
        )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def create_database(self) -> None:
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE wx110")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


class RedisServer:
    def __init__(self, root: Path):
        self.dir = root / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # loading the append-only file answers LOADING until done
            try:
                if Redis.from_url(self.url).ping():
                    return
            except Exception:  # noqa: BLE001 - not ready yet
                time.sleep(0.1)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM: the append-only file is flushed)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


class Cluster:
    """The deployment; `env` is what every process of it reads."""

    def __init__(self, api_base: str, *, workers: int = 2, **settings: str):
        self.root = Path(tempfile.mkdtemp(prefix="wx110-faults-"))
        self.postgres = Postgres(self.root)
        self.redis = RedisServer(self.root)
        self.web_port = free_port()
        self.processes: dict[str, subprocess.Popen] = {}
        self.worker_count = workers
        self.env = {
            **os.environ,
            "FLASK_APP": "wsgi",
            "PYTHONPATH": str(ROOT),
            "WX110_ENV_FILE": str(self.root / "no.env"),
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": "fault-suite",
            "WECHAT_TOKEN": wechat_side.KEYS.token,
            "WECHAT_AES_KEY": wechat_side.KEYS.aes_key,
            "WECHAT_APPID": wechat_side.KEYS.appid,
            "WECHAT_SECRET": "fault-suite",
            "WECHAT_API_BASE": api_base,
            "WECHAT_REPLY_MODE": "queued",
            "WORKER_HOUSEKEEPING_SECONDS": "2",
            "INLINE_TIMER": "0",
            "MEDIA_ROOT": str(self.root / "media"),
            "AUDIT_CHECKPOINT_DIR": str(self.root / "audit-checkpoints"),  # this cluster's chain only
            **settings,
        }

    @property
    def callback_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/wechat"

    def flask(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self) -> None:
        self.postgres.start()
        self.postgres.create_database()
        self.redis.start()
        for command in (("db", "upgrade"), ("seed",)):
            done = self.flask(*command)
            assert done.returncode == 0, done.stderr[-3000:]
        self._spawn(
            "web",
            [sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{self.web_port}", "wsgi:app"],
        )
        wait_for_port(self.web_port)
        for _ in range(8):  # both gunicorn workers have loaded the app before the first report is timed
            requests.get(f"http://127.0.0.1:{self.web_port}/readyz", timeout=30)
        for number in range(self.worker_count):
            self.start_worker(number)
        self.start_scheduler()

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")
        process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes[name] = process
        return process

    def start_worker(self, number: int) -> subprocess.Popen:
        return self._spawn(f"worker-{number}", [sys.executable, "-m", "flask", "worker", "--no-fork"])

    def start_scheduler(self) -> subprocess.Popen:
        return self._spawn("scheduler", [sys.executable, "-m", "flask", "scheduler"])

    def kill(self, name: str) -> int:
        """kill -9 one process (not its group: what a crash or the OOM killer does); return its pid."""
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return process.pid

    def log_of(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.redis.stop()
        try:
            self.postgres.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        if os.environ.get("WX110_FAULTS_KEEP"):
            print(f"fault suite: logs kept in {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
