"""The Alembic migrations match the models, and go down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import web.models  # noqa: F401 - the accounts' tables join Base.metadata (migration 0003_users)
import workorder.models_exchange  # noqa: F401 - the exchange's tables (migration 0012_exchange)
from queues.models import metadata as queues_metadata
from workorder.migrate import alembic_config, include_object, upgrade
from workorder.models import Base


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"include_object": include_object})
            return compare_metadata(mc, [Base.metadata, queues_metadata])
    finally:
        engine.dispose()


def test_models_and_migrations_agree(db_url):
    assert _diff(db_url) == []


def test_downgrade_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"orders", "orders_fts", "kb_fts", "outbox", "audit_log", "queue_agents", "users", "user_sessions"} <= names
