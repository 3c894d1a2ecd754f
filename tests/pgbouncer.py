"""A PgBouncer of the test's own, in transaction mode, in front of the suite's PostgreSQL database.

Debian's `pgbouncer` package (`./wx110 test` installs it when missing). It listens on a free loopback port, keeps
few server connections (so clients really share them, transaction by transaction), and refuses to run as root:
as root it is started with `-u` and the account PostgreSQL runs under.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

SERVER_CONNECTIONS = 3  # per database and user: fewer than the clients the tests run at once


def binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
    )


def problem() -> str | None:
    return None if binary() else "the pgbouncer program is not installed (Debian package pgbouncer)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgBouncer:
    def __init__(self, admin_url: str, database: str):
        target = conninfo_to_dict(admin_url)
        self.user = target.get("user") or "postgres"
        self.database = database
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="wx110-pgbouncer-"))
        self.dir.chmod(0o755)  # readable by the account it switches to
        (self.dir / "users.txt").write_text(f'"{self.user}" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"{database} = host={target.get('host', '127.0.0.1')} port={target.get('port', 5432)} "
                    f"dbname={database}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {self.dir / 'users.txt'}",
                    f"admin_users = {self.user}",
                    "pool_mode = transaction",
                    f"default_pool_size = {SERVER_CONNECTIONS}",
                    "max_client_conn = 500",
                    "server_reset_query =",
                    "",
                ]
            )
        )
        for path in self.dir.iterdir():
            path.chmod(0o644)
        self.log = self.dir / "pgbouncer.log"
        self.process: subprocess.Popen | None = None

    def url(self, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> "PgBouncer":
        command = [binary(), str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            account = next((name for name in ("postgres", "nobody") if _exists(name)), "nobody")
            command[1:1] = ["-u", account]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited at start:\n{self.log.read_text()}")
            try:
                with psycopg.connect(self.url("postgresql"), connect_timeout=2) as connection:
                    connection.execute("SELECT 1")
                return self
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not answer:\n{self.log.read_text()}")

    def show(self, what: str) -> list[dict]:
        """A `SHOW` command of the admin console (simple query protocol, hence the client-side cursor)."""
        admin = f"postgresql://{self.user}@127.0.0.1:{self.port}/pgbouncer"
        with psycopg.connect(admin, autocommit=True, cursor_factory=psycopg.ClientCursor) as connection:
            cursor = connection.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _exists(account: str) -> bool:
    try:
        pwd.getpwnam(account)
    except KeyError:
        return False
    return True
