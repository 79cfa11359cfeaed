"""the citizens' web channel: its throttle hits and the photos of its appeals

Revision ID: 0011_citizen
Revises: 0010_line_call_days
Create Date: 2026-12-02 14:00:00

``citizen_hits`` counts appeals per address and per phone and progress queries per address
(hashed keys, rows older than a day deleted on the next hit); ``order_photos`` links a photo
file in ``HOTLINE_CITIZEN_PHOTO_DIR`` to its order.
"""

import sqlalchemy as sa
from alembic import op

revision = '0011_citizen'
down_revision = '0010_line_call_days'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('citizen_hits',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=8), nullable=False),
                    sa.Column('key', sa.String(length=64), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('citizen_hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_hits_at'), ['at'], unique=False)
        batch_op.create_index('ix_citizen_hits_kind_key_at', ['kind', 'key', 'at'], unique=False)
    op.create_table('order_photos',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('order_id', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(length=80), nullable=False),
                    sa.Column('content_type', sa.String(length=32), nullable=False),
                    sa.Column('size', sa.Integer(), nullable=False),
                    sa.Column('sha256', sa.String(length=64), nullable=False),
                    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('name'))
    with op.batch_alter_table('order_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_photos_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('order_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_photos_order_id'))
    op.drop_table('order_photos')
    with op.batch_alter_table('citizen_hits', schema=None) as batch_op:
        batch_op.drop_index('ix_citizen_hits_kind_key_at')
        batch_op.drop_index(batch_op.f('ix_citizen_hits_at'))
    op.drop_table('citizen_hits')
