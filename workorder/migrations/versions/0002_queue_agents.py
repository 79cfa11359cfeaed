"""The agent registry (queues/models.py) joins the one migration history of the database.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # an install from before this revision made the table with create_all: keep its rows
    if 'queue_agents' in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table('queue_agents',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(length=40), nullable=False),
                    sa.Column('display', sa.String(length=80), nullable=False),
                    sa.Column('extension', sa.String(length=8), nullable=False),
                    sa.Column('team', sa.String(length=40), nullable=False),
                    sa.Column('skills', sa.JSON(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('extension', name='uq_queue_agents_extension'),
                    sa.UniqueConstraint('name'))


def downgrade() -> None:
    op.drop_table('queue_agents')
