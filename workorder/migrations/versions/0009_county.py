"""county chain (县级承办), first responsibility (首接负责制), joint handling (主办/协办 parts)

Revision ID: 0009_county
Revises: 0008_revisit
Create Date: 2026-12-02 14:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0009_county'
down_revision = '0008_revisit'
branch_labels = None
depends_on = None

COLUMNS = (
    ('first_unit', sa.String(32)),
    ('sub_unit', sa.String(32)),
    ('sub_status', sa.String(16)),
    ('sub_dispatched_at', sa.DateTime(timezone=True)),
    ('sub_sign_deadline', sa.DateTime(timezone=True)),
    ('sub_handling_deadline', sa.DateTime(timezone=True)),
    ('sub_signed_at', sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # plain ADD COLUMN (no batch): a batch rebuild of orders on SQLite would drop its FTS triggers
    op.add_column('departments', sa.Column('parent', sa.String(32), nullable=True))
    for name, type_ in COLUMNS:
        op.add_column('orders', sa.Column(name, type_, nullable=True))
    op.add_column('orders', sa.Column('parts_due', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    # 首接负责制 for the orders already signed: their first signer is their first sign record
    op.execute(
        "UPDATE orders SET first_unit = (SELECT r.unit FROM records r WHERE r.order_id = orders.id "
        "AND r.kind = 'sign' ORDER BY r.id LIMIT 1)"
    )


def downgrade() -> None:
    op.drop_column('orders', 'parts_due')
    for name, _ in reversed(COLUMNS):
        op.drop_column('orders', name)
    op.drop_column('departments', 'parent')
