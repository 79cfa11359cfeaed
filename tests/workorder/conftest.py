"""Fixtures for the work-order store tests (a DB, no Asterisk).

``db_url`` runs a test on SQLite, and again on PostgreSQL (marked ``postgres``):
a throwaway cluster made with initdb as the ``postgres`` user on a free port in a
temp dir, started once per session, one fresh database per test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from hotline.secrets import load_secrets
from hotline.settings import Settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.port = free_port()
        self.data = self.dir / "data"
        self._n = itertools.count(1)

    def _as_pg(self, *cmd, **kw):
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, cmd)], check=True, capture_output=True, text=True, **kw
        )

    def start(self):
        os.chmod(self.dir, 0o777)
        self._as_pg(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"
        )
        self._as_pg(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.dir / "log",
            "-w",
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            "start",
        )

    def stop(self):
        try:
            self._as_pg(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self, template: str | None = None) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self._n)}"
        tmpl = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


def pg_skip_reason() -> str | None:
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 binaries not found in {PG_BIN}"
    if shutil.which("runuser") is None:
        return "runuser not available to run initdb as postgres"
    if os.geteuid() != 0:
        return "needs root to run initdb as the postgres user"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg (3) not installed"
    return None


@pytest.fixture(scope="session")
def pg_cluster():
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    from workorder.migrate import upgrade

    cluster = PgCluster()
    cluster.start()
    # one migrated, seeded template; each test's database is a copy of it
    url = cluster.new_database()
    upgrade(url)
    cluster.template = url.rsplit("/", 1)[1]
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    from workorder.migrate import upgrade

    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template):
    """A fresh migrated and seeded SQLite database (a copy of the session's template)."""
    target = tmp_path / "hotline.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database(cluster.template)


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path)


@pytest.fixture
def tokens(settings):
    return load_secrets(settings.secrets_file)["api_tokens"]


class Api:
    """A TestClient with per-role auth: ``api.get("/api/v1/orders", as_="agent")``."""

    def __init__(self, client, tokens, store):
        self.client, self.tokens, self.store = client, tokens, store
        self.extra: dict[str, str] = {}
        self.app = None

    def h(self, role):
        token = self.extra.get(role) or self.tokens[role]
        return {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(path, as_="agent", **kw):
            headers = {**self.h(as_), **kw.pop("headers", {})}
            return getattr(self.client, method)(path, headers=headers, **kw)

        return call


def make_api(settings, url, clock=None):
    from fastapi.testclient import TestClient

    from workorder.api.app import create_app
    from workorder.db import Database
    from workorder.service import Store

    store = Store(Database(url))
    if clock is not None:
        store.now = clock
    app = create_app(settings, store=store)
    return app, store, TestClient(app)


@pytest.fixture
def api(settings, tokens, db_url):
    app, store, client = make_api(settings, db_url)
    with client:
        a = Api(client, tokens, store)
        a.app = app
        yield a
    store.db.dispose()


@pytest.fixture
def sqlite_api(settings, tokens, sqlite_url):
    app, store, client = make_api(settings, sqlite_url)
    with client:
        a = Api(client, tokens, store)
        a.app = app
        yield a
    store.db.dispose()
