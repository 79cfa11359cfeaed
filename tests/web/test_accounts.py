"""Accounts: hashing, sessions ending, throttling per user and per address, the CLI."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from hotline.secrets import load_secrets
from hotline.settings import Settings
from queues.models import Registry
from tests.dbutil import migrated
from tests.web.conftest import PASSWORD, login
from web import accounts as acc
from web.cli import add_arguments, run
from web.demo import banner, seed_demo_users
from web.models import User


def test_passwords_are_argon2_hashes_never_text(site):
    with site.store.db.read() as s:
        hashes = [u.password_hash for u in s.query(User)]
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_wrong_password_and_unknown_user_get_the_same_answer(site):
    a = login(site.anonymous(), "guanli", "wrong-password-1")
    b = login(site.anonymous(), "nobody", "wrong-password-1")
    assert a.status_code == b.status_code == 401
    assert "用户名或密码错误" in a.text and "用户名或密码错误" in b.text


def test_throttled_per_user_even_with_the_right_password(site):
    for _ in range(acc.USER_LIMIT):
        assert login(site.anonymous(), "guanli", "wrong-password-1").status_code == 401
    r = login(site.anonymous(), "guanli", PASSWORD)
    assert r.status_code == 429 and "登录失败次数过多" in r.text and "分钟后再试" in r.text
    assert login(site.anonymous(), "banzhang").status_code == 303  # another user is not locked out
    # the window passes: the right password works again and clears the count
    accounts = site.app.state.accounts
    real_now = accounts.now
    accounts.now = lambda: real_now() + acc.WINDOW + timedelta(seconds=1)
    assert login(site.anonymous(), "guanli").status_code == 303


def test_throttled_per_address(site):
    for i in range(acc.ADDRESS_LIMIT):
        assert login(site.anonymous(), f"guess{i}", "wrong-password-1").status_code == 401
    r = login(site.anonymous(), "banzhang")
    assert r.status_code == 429 and "登录失败次数过多" in r.text


def test_disabled_user_loses_its_session_and_cannot_log_in(site):
    c = site.client("banzhang")
    assert c.get("/wallboard").status_code == 200
    site.app.state.accounts.set_active("banzhang", False)
    assert c.get("/wallboard").status_code == 303
    assert login(site.anonymous(), "banzhang").status_code == 401
    site.app.state.accounts.set_active("banzhang", True)
    assert login(site.anonymous(), "banzhang").status_code == 303


def test_password_change_checks_the_old_one_and_ends_sessions(site):
    c = site.client("paidan")
    token = site.csrf("paidan")
    r = c.post("/account/password", data={"csrf": token, "old": "not-it-at-all", "new": "n" * 12, "again": "n" * 12})
    assert r.status_code == 422 and "原密码不对" in r.text
    r = c.post("/account/password", data={"csrf": token, "old": PASSWORD, "new": "short", "again": "short"})
    assert r.status_code == 422 and "至少 10 个字符" in r.text
    r = c.post("/account/password", data={"csrf": token, "old": PASSWORD, "new": "n" * 12, "again": "n" * 12})
    assert r.status_code == 303
    assert c.get("/wallboard").status_code == 303  # the session ended
    assert login(site.anonymous(), "paidan", PASSWORD).status_code == 401
    assert login(site.anonymous(), "paidan", "n" * 12).status_code == 303


def test_logout_ends_the_session(site):
    c = site.client("guanli")
    cookie = c.cookies.get("hotline_session")
    assert c.post("/logout", data={"csrf": site.csrf("guanli")}).status_code == 303
    again = site.anonymous()
    again.cookies.set("hotline_session", cookie)
    assert again.get("/admin").status_code == 303


def test_idle_sessions_expire(site):
    c = site.client("guanli")
    accounts = site.app.state.accounts
    real_now = accounts.now
    accounts.now = lambda: real_now() + acc.IDLE + timedelta(minutes=1)
    assert c.get("/admin").status_code == 303


def test_account_rules(site):
    a = site.app.state.accounts
    with pytest.raises(acc.AccountError, match="no such agent"):
        a.add(None, "agent", extension="1999")
    with pytest.raises(acc.AccountError, match="name the user demo1001"):
        a.add("zhangsan", "agent", extension="1001")
    with pytest.raises(acc.AccountError, match="needs --department"):
        a.add("x", "department")
    # a supervisor may have a phone of the registry (listen / whisper / barge ring it); nobody else
    with pytest.raises(acc.AccountError, match="no such agent"):
        a.add("zuzhang", "supervisor", extension="1999")
    with pytest.raises(acc.AccountError, match="only an agent or a supervisor"):
        a.add("x", "admin", extension="1002")
    assert a.add("zuzhang", "supervisor", extension="1002")[0].extension == "1002"
    with pytest.raises(acc.AccountError, match="not a unit"):
        a.add("x", "department", department="nope")
    with pytest.raises(acc.AccountError, match="role"):
        a.add("x", "root")
    with pytest.raises(acc.AccountError, match="exists"):
        a.add("guanli", "admin")
    with pytest.raises(acc.AccountError, match="lower-case"):
        a.add("Bad Name", "admin")
    user, password = a.add("second", "admin")
    assert len(password) >= acc.MIN_PASSWORD and user.principal.subject == "second"


def test_cli_add_list_disable_passwd(site, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)

    def cli(*argv):
        return run(parser.parse_args(argv), site.settings)

    assert cli("add", "--role", "department", "--department", "mzj", "--display", "张三", "zhangsan") == 0
    out = capsys.readouterr().out
    password = out.rsplit(": ", 1)[1].strip()
    assert "shown once" in out and len(password) >= 10
    assert login(site.anonymous(), "zhangsan", password).status_code == 303
    assert cli("add", "--role", "agent", "--extension", "1999") == 1
    assert "no such agent" in capsys.readouterr().err
    assert cli("list") == 0 and "zhangsan" in capsys.readouterr().out
    assert cli("disable", "zhangsan") == 0
    assert login(site.anonymous(), "zhangsan", password).status_code == 401
    assert cli("enable", "zhangsan") == 0 and cli("passwd", "zhangsan") == 0
    new = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert login(site.anonymous(), "zhangsan", new).status_code == 303
    rows = site.anonymous().get("/api/v1/audit", headers=_admin(site)).json()["items"]
    assert {"user add zhangsan", "user disable zhangsan", "user passwd zhangsan"} <= {r["path"] for r in rows}


def _admin(site):
    return {"Authorization": "Bearer " + load_secrets(site.settings.secrets_file)["api_tokens"]["admin"]}


def test_demo_users_once_per_install(tmp_path, db_template):
    home = tmp_path / "fresh"
    home.mkdir()
    settings = migrated(Settings(home=home))
    Registry(settings.database_url).add("demo1001", "1001", {"hotline": 0})
    demo = seed_demo_users(settings)
    assert [(role, name) for role, name, _ in demo] == [
        ("agent", "demo1001"),
        ("supervisor", "demo-supervisor"),
        ("department", "demo-mzj"),
        ("admin", "demo-admin"),
    ]
    text = banner(settings, demo)
    assert all(password in text for _, _, password in demo) and "http://127.0.0.1:8000/" in text
    assert seed_demo_users(settings) == []  # never again: the passwords were shown once
    assert "hotline user list" in banner(settings, [])
