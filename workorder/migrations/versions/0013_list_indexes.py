"""composite indexes for the order lists at a million orders (bench/bench_workorder.py)

A list filters on one or two of unit, status and type and walks the newest first
(``ORDER BY id DESC LIMIT n``).  With one-column indexes only, two filters that
rarely meet scanned the whole of the first one: ``unit=mzj&status=accepted`` read
120,000 index entries to return none (184 ms).  Each index below ends with ``id``,
so both databases read exactly the matching rows, newest first, and stop at the limit.

Revision ID: 0013_list_indexes
Revises: 0012_exchange
Create Date: 2026-12-02 19:40:00
"""
from alembic import op


revision = '0013_list_indexes'
down_revision = '0012_exchange'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_orders_unit_status_id': ['main_unit', 'status', 'id'],
    'ix_orders_unit_type_id': ['main_unit', 'type', 'id'],
    'ix_orders_status_type_id': ['status', 'type', 'id'],
}


def upgrade() -> None:
    # plain CREATE INDEX (no batch copy of the table: that would drop the orders_fts triggers)
    for name, cols in INDEXES.items():
        op.create_index(name, 'orders', cols, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name='orders')
