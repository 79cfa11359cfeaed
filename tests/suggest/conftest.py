"""The suggestion tests use the work-order store's database fixtures (SQLite, and PostgreSQL marked
``postgres``)."""

from tests.workorder.conftest import (  # noqa: F401 - fixtures
    api,
    db_url,
    pg_cluster,
    settings,
    sqlite_api,
    sqlite_template,
    sqlite_url,
    tokens,
)
