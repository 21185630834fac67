"""A throwaway PostgreSQL server for the tests.

`python tests/pgserver.py start DIR` initialises a cluster in DIR/data (UTF-8, trust auth,
listening only on 127.0.0.1, on a free port), starts it, creates the role `talks` (LOGIN CREATEDB)
and its database `talks_test`, and prints their SQLAlchemy URL (also kept in DIR/url);
`python tests/pgserver.py stop DIR` stops it. .ci/run exports that URL as TALKS_TEST_DATABASE_URL.

Fixtures: `postgres_server` (session) yields a server's URL: TALKS_TEST_DATABASE_URL when set,
else a server of its own (one per xdist worker), else the test is skipped. `postgres_url` yields
a fresh empty database on it for each test, dropped afterwards.

PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user (runuser),
and DIR is handed to that user.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

ENV_URL = "TALKS_TEST_DATABASE_URL"
ROLE, PASSWORD, DATABASE = "talks", "talks-test", "talks_test"
OS_USER = "postgres"  # who runs the server when we are root
INSTALL_HINT = (
    "install it (`apt-get install postgresql` as root; .ci/run does) or set "
    f"{ENV_URL}=postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB naming a role with CREATEDB"
)
# A server for tests: durability off, nothing but 127.0.0.1 and a socket in DIR.
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{folder}'
fsync = off
synchronous_commit = off
full_page_writes = off
"""


def bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's /usr/lib/postgresql/N/bin, else the
    one holding `pg_ctl` on PATH), or None when there is none."""
    debian = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")]
    debian.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if debian:
        return debian[-1]
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl and (Path(pg_ctl).parent / "postgres").exists() else None


def _root() -> bool:
    return os.geteuid() == 0


def _run(folder: Path, *cmd: str | Path) -> None:
    """Run a PostgreSQL command in `folder` (as `postgres` when we are root); raise on failure."""
    args = [str(c) for c in cmd]
    if _root():
        args = ["runuser", "-u", OS_USER, "--", *args]
    done = subprocess.run(args, cwd=folder, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        log = folder / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        reach = f" (as root: {folder} and its parents must be reachable by {OS_USER})"
        raise RuntimeError(
            f"{' '.join(args)} failed ({done.returncode}){reach if _root() else ''}:\n"
            f"{done.stdout}{done.stderr}{tail}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder: Path) -> str:
    """Initialise and start a server in `folder`/data, create the role and database the tests
    use, and return their URL. Raise RuntimeError saying what to do when it cannot."""
    bins = bindir()
    if bins is None:
        raise RuntimeError(f"PostgreSQL is not installed: {INSTALL_HINT}")
    folder = folder.resolve()
    data = folder / "data"
    if data.exists():
        raise RuntimeError(
            f"{data} exists: `python tests/pgserver.py stop {folder}`, remove it, start again"
        )
    folder.mkdir(parents=True, exist_ok=True)
    if _root():
        try:
            shutil.chown(folder, OS_USER, OS_USER)
        except LookupError as e:
            raise RuntimeError(f"no `{OS_USER}` user to run PostgreSQL as: {INSTALL_HINT}") from e
    folder.chmod(0o700)
    _run(folder, bins / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
         "--locale=C.UTF-8")  # fmt: skip
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(SETTINGS.format(folder=folder))
    for attempt in range(3):  # another process may take the free port before the server does
        port = _free_port()
        try:
            _run(folder, bins / "pg_ctl", "-D", data, "-l", folder / "log", "-o", f"-p {port}",
                 "-w", "-t", "60", "start")  # fmt: skip
            break
        except RuntimeError:
            if attempt == 2:
                raise
    admin = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(PASSWORD)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE), sql.Identifier(ROLE)
            )
        )
    url = f"postgresql+psycopg://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
    (folder / "url").write_text(url + "\n")
    return url


def stop(folder: Path) -> None:
    """Stop the server in `folder`/data, if one runs there (the files stay)."""
    folder = folder.resolve()
    data = folder / "data"
    bins = bindir()
    if bins is not None and (data / "postmaster.pid").exists():
        _run(folder, bins / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")


def _connect(url: str) -> psycopg.Connection:
    """An autocommit psycopg connection to a SQLAlchemy `postgresql+psycopg://` URL."""
    parts = urlsplit(url)
    return psycopg.connect(urlunsplit(parts._replace(scheme="postgresql")), autocommit=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server's URL: TALKS_TEST_DATABASE_URL when set, else a server started for
    this session (each xdist worker starts its own, in its own folder and port)."""
    if url := os.environ.get(ENV_URL):
        yield url
        return
    if bindir() is None:
        pytest.skip(f"PostgreSQL is not installed: {INSTALL_HINT}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = Path(tempfile.mkdtemp(prefix=f"talks-pg-{worker}-"))  # not under /root: see _run
    try:
        yield start(folder)
    finally:
        try:
            stop(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server at `server_url`, owned by the URL's role; yield its
    SQLAlchemy URL; then drop it, its connections ended (WITH (FORCE), PostgreSQL 13+)."""
    name = f"test_{secrets.token_hex(6)}"
    parts = urlsplit(server_url)
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if parts.username:
        owner = sql.Identifier(unquote(parts.username))
        create = sql.SQL("{} OWNER {}").format(create, owner)
    with _connect(server_url) as conn:
        conn.execute(create)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with _connect(server_url) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh empty database on `postgres_server` for this test (see fresh_database)."""
    with fresh_database(postgres_server) as url:
        yield url


def main(argv: list[str]) -> int:
    """`start DIR`: start a server, print its URL; `stop DIR`: stop it."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python tests/pgserver.py start|stop DIR", file=sys.stderr)
        return 2
    try:
        if argv[0] == "start":
            print(start(Path(argv[1])))
        else:
            stop(Path(argv[1]))
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
