"""indexes for the people's pages at a million orders (bench/bench_pages.py, docs/benchmarks.md)

* orders.agent, orders.created_by: the agent desktop's recent orders and current draft;
* records (unit, kind, order_id): a department's list, walked newest order first;
* records.at: the statistics read the records of a period (was a scan of every record);
* transitions (action, at): the statistics count accept / direct_answer in a period.

Revision ID: 0004_page_indexes
Revises: 0003_users
Create Date: 2026-12-02 01:00:00
"""
from alembic import op


revision = '0004_page_indexes'
down_revision = '0003_users'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_agent'), ['agent'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_created_by'), ['created_by'], unique=False)
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_records_at'), ['at'], unique=False)
        batch_op.create_index('ix_records_unit_kind_order', ['unit', 'kind', 'order_id'], unique=False)
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.create_index('ix_transitions_action_at', ['action', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_transitions_action_at')
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_unit_kind_order')
        batch_op.drop_index(batch_op.f('ix_records_at'))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_created_by'))
        batch_op.drop_index(batch_op.f('ix_orders_agent'))
