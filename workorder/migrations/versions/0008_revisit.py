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
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('no_callback', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('revisit_lock_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('revisit_lock_until')
        batch.drop_column('no_callback')
