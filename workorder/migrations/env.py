"""Alembic environment for the work-order store (run via ``hotline db upgrade``)."""

from alembic import context

import workorder.models_exchange  # noqa: F401 - the two-level exchange's tables join Base.metadata (0012)
from queues.models import metadata as queues_metadata
from workorder.db import make_engine
from workorder.migrate import include_object
from workorder.models import Base

config = context.config
# one database, one migration history: the work orders and the agent registry
target_metadata = [Base.metadata, queues_metadata]


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(
            connection=connectable, target_metadata=target_metadata, render_as_batch=True, include_object=include_object
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, include_object=include_object
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
