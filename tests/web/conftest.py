"""Fixtures for the pages: a migrated SQLite store, one user per role, a TestClient per user."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from hotline.settings import PROJECT_ROOT, Settings
from queues.models import Registry
from web.app import create_app
from workorder.db import Database
from workorder.migrate import upgrade
from workorder.service import Store

PASSWORD = "correct-horse-battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# name -> (role, extension, department)
PEOPLE = {
    "demo1001": ("agent", "1001", None),
    "demo1002": ("agent", "1002", None),
    "banzhang": ("supervisor", None, None),
    "paidan": ("dispatcher", None, None),
    "guanli": ("admin", None, None),
    "zhijian": ("quality", None, None),
    "minzheng": ("department", None, "mzj"),
    "gongjijin": ("department", None, "gjj"),
}


@pytest.fixture(scope="session")
def db_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("webdb") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


class Site:
    """The app with its users; ``site.client(name)`` is a logged-in TestClient."""

    def __init__(self, app, store: Store, settings: Settings, reloads: list):
        self.app, self.store, self.settings, self.reloads = app, store, settings, reloads
        self.clients: dict[str, TestClient] = {}

    def anonymous(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def client(self, name: str) -> TestClient:
        if name not in self.clients:
            c = self.anonymous()
            login(c, name)
            self.clients[name] = c
        return self.clients[name]

    def csrf(self, name: str) -> str:
        return csrf_of(self.client(name).get("/account/password").text)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]*)"', html).group(1)


def login(c: TestClient, name: str, password: str = PASSWORD):
    form = c.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    return c.post("/login", data={"name": name, "password": password, "csrf": token})


def make_site(home: Path, db_template: Path) -> Site:
    """A fresh home with a copy of the migrated DB and of the map, the app, one user per role."""
    home.mkdir(parents=True)
    shutil.copyfile(db_template, home / "hotline.db")
    tmap = home / "transfer_map.yaml"
    shutil.copyfile(PROJECT_ROOT / "transfer_map.yaml", tmap)
    settings = Settings(home=home, transfer_map=tmap)
    registry = Registry(settings.database_url)
    for name, (role, ext, _) in PEOPLE.items():
        if role == "agent":
            registry.add(name, ext, {"hotline": 0}, display=f"坐席{ext}")
    store = Store(Database(settings.database_url))
    reloads: list = []

    def reloader():
        reloads.append(tmap.read_text(encoding="utf-8"))
        return True, "res_pjsip.so: Success\npbx_config.so: Success\napp_queue.so: Success"

    app = create_app(settings, store=store, reloader=reloader)
    app.state.accounts.hasher = FAST  # the production parameters cost ~0.1 s a hash
    for name, (role, ext, dept) in PEOPLE.items():
        app.state.accounts.add(name, role, PASSWORD, extension=ext, department=dept)
    return Site(app, store, settings, reloads)


@pytest.fixture
def site(tmp_path, db_template):
    s = make_site(tmp_path / "home", db_template)
    yield s
    s.store.db.dispose()
