"""agent calls' recordings: one row per MixMonitor file, linked to the order of its call

Revision ID: 0006_recordings
Revises: 0005_kb_lifecycle
Create Date: 2026-12-08 09:00:00

The files live in the instance's recordings directory (``HOTLINE_RECORDINGS_DIR``); the row
keeps the name after the retention purge deleted the file (``purged_at``).
"""

import sqlalchemy as sa
from alembic import op

revision = '0006_recordings'
down_revision = '0005_kb_lifecycle'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_recordings',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(length=120), nullable=False),
                    sa.Column('linkedid', sa.String(length=64), nullable=False),
                    sa.Column('order_id', sa.Integer(), nullable=True),
                    sa.Column('agent', sa.String(length=64), nullable=True),
                    sa.Column('size', sa.Integer(), nullable=False),
                    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
                    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='SET NULL'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('name'))
    with op.batch_alter_table('call_recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_recordings_linkedid'), ['linkedid'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_recordings_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('call_recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_recordings_order_id'))
        batch_op.drop_index(batch_op.f('ix_call_recordings_linkedid'))
    op.drop_table('call_recordings')
