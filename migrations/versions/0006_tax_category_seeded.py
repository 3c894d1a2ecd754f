"""category: what the taxonomy file last said about each category, so a re-seed keeps an admin's edits

Revision ID: 0006
Revises: bot_0002
Create Date: 2026-12-01 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = 'bot_0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seeded', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_column('seeded')
