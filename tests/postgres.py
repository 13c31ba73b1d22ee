"""A throwaway PostgreSQL cluster for the tests: `postgres_server` and `postgres_url`.

The campaign store must behave the same on SQLite and PostgreSQL (several API replicas
share one PostgreSQL database), so the tests run on both. CI installs Debian's
`postgresql` package (scripts/setup.sh); this module starts a private cluster from its
binaries once per test session: `initdb` into a temporary directory, `pg_ctl start` on a
Unix socket in that directory and a free port (TCP is off, nothing else can connect),
then `pg_ctl stop -m immediate` and the directory is removed at the end.

`initdb` refuses to run as root, so when the tests run as root (CI containers) every
server command runs as the `postgres` system user (created by the Debian package)
through `runuser`, and the directory is handed to that user.

PostgreSQL missing is a test FAILURE, not a skip: a green run that silently tested only
SQLite would hide exactly the bugs this is here to catch. Set `DIALTONE_PG_BIN` to the
directory holding `initdb` and `pg_ctl` when they are somewhere unusual.

Durability settings (`fsync=off`, `synchronous_commit=off`) only make the throwaway
cluster fast; the crash tests kill the API process, never the database server, so what
a committed transaction guarantees to other connections is unchanged.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "dialtone"
_counter = itertools.count()


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster; `url(db)` is a SQLAlchemy URL for one of its databases."""

    socket_dir: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@/{database}?host={self.socket_dir}&port={self.port}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE / DROP DATABASE)."""
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=PG_USER, dbname="postgres"
        ) as conn:
            conn.autocommit = True
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        name = f"t{os.getpid()}_{next(_counter)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.split("@/", 1)[1].split("?", 1)[0]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def find_pg_bin() -> Path:
    """The directory with `initdb` and `pg_ctl`, or a failure that says how to get one."""
    candidates: list[str] = []
    if os.environ.get("DIALTONE_PG_BIN"):
        candidates.append(os.environ["DIALTONE_PG_BIN"])
    # Debian keeps the server binaries out of PATH, one directory per major version.
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for directory in candidates:
        if (Path(directory) / "initdb").is_file() and (Path(directory) / "pg_ctl").is_file():
            return Path(directory)
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: the campaign store is tested "
        "on SQLite AND PostgreSQL. Install them (Debian: `apt-get install postgresql`, which "
        "scripts/setup.sh does) or point DIALTONE_PG_BIN at the directory holding initdb.",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root, and initdb refuses root: a `postgres` system user is needed "
            "(Debian's postgresql package creates it)",
            pytrace=False,
        )
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(
            f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}",
            pytrace=False,
        )


@contextmanager
def running_cluster() -> Iterator[PostgresServer]:
    """Start a throwaway cluster, stop and delete it on exit (the fixture; bench/)."""
    pg_bin = find_pg_bin()
    root = Path(tempfile.mkdtemp(prefix="dialtone-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data = root / "data"
    port = _free_port()
    _run(
        [
            str(pg_bin / "initdb"),
            "-D",
            str(data),
            "-U",
            PG_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        "initdb",
    )
    options = (
        f"-k {root} -p {port} -c listen_addresses='' -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = str(pg_bin / "pg_ctl")
    log = str(root / "log")
    _run([pg_ctl, "-D", str(data), "-o", options, "-l", log, "-w", "-t", "60", "start"], "pg_ctl")
    try:
        yield PostgresServer(root, port)
    finally:
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL cluster for the whole session (started on first use)."""
    with running_cluster() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database in the session's cluster, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
