"""Migration 0009 on a store with orders: the orders signed before it get their first signer
(首接负责制) from their first sign record; the others none; new columns have their defaults."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from workorder.db import Database
from workorder.migrate import alembic_config, seed_reference, upgrade
from workorder.models import Department


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return request.getfixturevalue("pg_cluster").new_database()


def test_0009_fills_in_the_first_signer_of_orders_signed_before(empty_url):
    url = empty_url
    command.upgrade(alembic_config(url), "0008_revisit")
    engine = create_engine(url)
    cols = (
        "number, channel, received_at, anonymous, confidential, urgency, origin, mode, kb_refs, status, round, "
        "co_units, return_count, designated, extension_pending, callback_attempts, callback_failed, "
        "dispatched_ever, created_at, updated_at, version, no_callback"
    )
    row = "'{n}', 'phone', '2026-12-01', false, false, 'normal', '12345', 'direct', '[]', '{s}', 1, '[]', 0, "
    row += "false, false, 0, false, true, '2026-12-01', '2026-12-01', 1, false"
    with engine.begin() as c:
        for n, status in (("2026120100001", "handling"), ("2026120100002", "dispatched")):
            c.execute(text(f"INSERT INTO orders ({cols}) VALUES ({row.format(n=n, s=status)})"))
        rec = "INSERT INTO records (order_id, round, kind, unit, at, data) VALUES (:o, 1, :k, :u, '2026-12-01', '{}')"
        for order_id, kind, unit in (
            (1, "dispatch", "mzj"),
            (1, "sign", "mzj"),
            (1, "sign", "wjw"),
            (2, "dispatch", "rsj"),
        ):
            c.execute(text(rec), {"o": order_id, "k": kind, "u": unit})
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as c:
        got = c.execute(text("SELECT id, first_unit, sub_unit FROM orders ORDER BY id")).all()
        parts = c.execute(text("SELECT COUNT(*) FROM orders WHERE parts_due IS NULL")).scalar()
    engine.dispose()
    assert [tuple(r) for r in got] == [(1, "mzj", None), (2, None, None)] and parts == 0


def test_seeding_keeps_a_departments_county_in_step_with_the_map(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    upgrade(url, seed=False)
    db = Database(url)
    try:
        with db.write() as s:  # a store seeded before 0009: the county department has no parent yet
            s.add(Department(code="shexian_zjj", name="涉县住房和城乡建设局", kind="department", lines=[]))
        seed_reference(db)
        with db.read() as s:
            assert s.get(Department, "shexian_zjj").parent == "shexian"
            assert s.get(Department, "shexian").parent is None
    finally:
        db.dispose()
