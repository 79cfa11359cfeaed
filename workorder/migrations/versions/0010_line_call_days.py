"""the assessment's 接通率: each line's calls per local day, kept by the jobs from the call figures

Revision ID: 0010_line_call_days
Revises: 0009_county
Create Date: 2026-12-02 15:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0010_line_call_days'
down_revision = '0009_county'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'line_call_days',
        sa.Column('day', sa.String(10), primary_key=True),
        sa.Column('line', sa.String(20), primary_key=True),
        sa.Column('offered', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('answered', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('line_call_days')
