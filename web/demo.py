"""Demo users for a fresh install: one per role, passwords generated and shown once."""

from __future__ import annotations

from hotline.settings import Settings
from queues.models import Registry
from web.accounts import AccountError, Accounts
from workorder.db import Database
from workorder.migrate import upgrade

# (name, role, department); the agent takes the first registered agent's name
DEMO = (("demo-supervisor", "supervisor", None), ("demo-mzj", "department", "mzj"), ("demo-admin", "admin", None))


def seed_demo_users(settings: Settings) -> list[tuple[str, str, str]]:
    """When there is no user yet: add the demo users; returns (role, name, password) of each."""
    upgrade(settings.database_url)
    db = Database(settings.database_url, group_commit=False)
    try:
        accounts = Accounts(db, settings.database_url)
        if accounts.all():
            return []
        out = []
        agents = Registry(settings.database_url).all()
        if agents:
            user, password = accounts.add(None, "agent", extension=agents[0]["extension"], display=agents[0]["display"])
            out.append(("agent", user.name, password))
        for name, role, department in DEMO:
            try:
                user, password = accounts.add(name, role, department=department)
            except AccountError:  # e.g. a store without that department
                continue
            out.append((role, user.name, password))
        return out
    finally:
        db.dispose()


def banner(settings: Settings, demo: list[tuple[str, str, str]]) -> str:
    lines = [
        f"  The people's pages: http://{settings.bind}:{settings.api_port}/  (agent desktop /agent, wallboard "
        "/wallboard, department portal /dept, admin /admin)"
    ]
    if demo:
        lines.append("  Demo users (passwords shown only now; `hotline user passwd NAME` sets a new one):")
        lines += [f"      {role:<11} {name:<16} password {password}" for role, name, password in demo]
    else:
        lines.append("  Sign in with your users (`hotline user list`, `hotline user add`).")
    return "\n".join(lines)
