"""the statistics' roll-up: stats_facts, one row per record that adds to the figures

Kept by the store's writes (workorder/models.py, the Record write hook); filled here for the
records already in the store (workorder.stats.rebuild).  See workorder/stats.py.

Revision ID: 0007_stats_facts
Revises: 0006_recordings
Create Date: 2026-12-02 02:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0007_stats_facts'
down_revision = '0006_recordings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stats_facts',
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=True),
        sa.Column('ref_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('unit2', sa.String(length=32), nullable=True),
        sa.Column('ref_at2', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('open_due', sa.DateTime(timezone=True), nullable=True),
        sa.Column('f1', sa.Integer(), nullable=False),
        sa.Column('f2', sa.Integer(), nullable=False),
        sa.Column('f3', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['record_id'], ['records.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('record_id'),
    )
    op.create_index(op.f('ix_stats_facts_order_id'), 'stats_facts', ['order_id'], unique=False)
    from workorder.stats import rebuild

    rebuild(op.get_bind())
    # built after the load: one sort instead of an index kept row by row
    op.create_index(
        'ix_stats_facts_kind_at',
        'stats_facts',
        ['kind', 'at', 'unit', 'ref_at', 'next_at', 'last_at', 'open_due', 'f1', 'f2', 'f3'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_stats_facts_kind_at', table_name='stats_facts')
    op.drop_index(op.f('ix_stats_facts_order_id'), table_name='stats_facts')
    op.drop_table('stats_facts')
