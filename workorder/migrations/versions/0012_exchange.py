"""the two-level exchange: events received from the other level, mirrored orders

Revision ID: 0012_exchange
Revises: 0011_citizen
Create Date: 2026-12-02 14:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0012_exchange'
down_revision = '0011_citizen'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'exchange_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('source', sa.String(32), nullable=False),
        sa.Column('event_id', sa.String(40), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('order_number', sa.String(32), nullable=True),
        sa.Column('outcome', sa.String(16), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('source', 'event_id', name='uq_exchange_events_source_event'),
    )
    op.create_index('ix_exchange_events_order_number', 'exchange_events', ['order_number'])
    op.create_table(
        'exchange_orders',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('source', sa.String(32), nullable=False),
        sa.Column('number', sa.String(32), nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(24), nullable=True),
        sa.Column('snapshot', sa.JSON(), nullable=True),
        sa.Column('linkedid', sa.String(64), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('source', 'number', name='uq_exchange_orders_source_number'),
    )


def downgrade() -> None:
    op.drop_table('exchange_orders')
    op.drop_index('ix_exchange_events_order_number', 'exchange_events')
    op.drop_table('exchange_events')
