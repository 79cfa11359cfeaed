"""A migrated database for tests that use the agent registry (its table is in the migrations)."""

from __future__ import annotations

from workorder.migrate import upgrade


def migrated(settings):
    """``settings`` after running the database's migrations on its URL."""
    upgrade(settings.database_url, seed=False)
    return settings
