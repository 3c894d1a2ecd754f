"""pushes: why an officer's chat message could not reach the citizen; what else a subscribe-message consent was
spent on (a chat message, a complaint answer)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 04:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undelivered_reason', sa.String(length=32), nullable=True))
    with op.batch_alter_table('subscribe_consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spent_on', sa.String(length=96), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_subscribe_consent_spent_on'), ['spent_on'])


def downgrade():
    with op.batch_alter_table('subscribe_consent', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_subscribe_consent_spent_on'), type_='unique')
        batch_op.drop_column('spent_on')
    with op.batch_alter_table('chat_message', schema=None) as batch_op:
        batch_op.drop_column('undelivered_reason')
