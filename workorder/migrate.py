"""Run the Alembic migrations and seed the reference data (departments, categories)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from workorder.config import load_categories, load_departments, parent_code
from workorder.db import Database
from workorder.models import Category, Department

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


HAND_MADE_INDEXES = ("ix_orders_trgm", "ix_kb_trgm", "ix_kb_terms")


def include_object(obj, name, type_, reflected, compare_to):
    """Autogenerate filter: the full-text objects (SQLite FTS5 tables and their shadow tables,
    PostgreSQL trigram and word indexes) are made by hand in 0001 and 0005, not by the models."""
    if type_ == "table" and reflected and compare_to is None and name.split("_fts")[0] in ("orders", "kb"):
        return False
    if type_ == "index" and reflected and compare_to is None and name in HAND_MADE_INDEXES:
        return False
    return True


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, seed: bool = True) -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    command.upgrade(alembic_config(url), "head")
    if seed:
        db = Database(url, pool_size=1, max_overflow=0)
        try:
            seed_reference(db)
        finally:
            db.dispose()


def seed_reference(db: Database) -> tuple[int, int]:
    """Insert missing departments and categories from the YAML files (never deletes); a
    department's county (``parent:``, 县直部门) follows the map."""
    depts = load_departments()
    cats = load_categories()
    added = [0, 0]
    with db.write() as s:
        have = {d.code: d for d in s.scalars(select(Department))}
        for d in depts:
            if d["code"] not in have:
                s.add(Department(code=d["code"], name=d["name"], kind=d["kind"], lines=d["lines"], parent=d["parent"]))
                added[0] += 1
            elif have[d["code"]].parent != d["parent"]:
                have[d["code"]].parent = d["parent"]
        have_c = set(s.scalars(select(Category.code)))
        for code, name in cats.items():
            if code not in have_c:
                s.add(Category(code=code, name=name, parent_code=parent_code(code)))
                added[1] += 1
    return added[0], added[1]
