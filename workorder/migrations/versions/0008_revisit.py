"""outbound 回访: the order's no-call-back flag (不需要回访) and the dialer's per-order lock

Revision ID: 0008_revisit
Revises: 0007_stats_facts
Create Date: 2026-12-02 08:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0008_revisit'
down_revision = '0007_stats_facts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch): a batch rebuild of orders on SQLite would drop its FTS triggers
    op.add_column('orders', sa.Column('no_callback', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('orders', sa.Column('revisit_lock_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('orders', 'revisit_lock_until')
    op.drop_column('orders', 'no_callback')
