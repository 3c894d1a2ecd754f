"""wechat inbound: captured payload and pushed-reply state for the queued reply mode

Revision ID: bot_0002
Revises: miniapp_0001
Create Date: 2026-11-26 15:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'bot_0002'
down_revision = 'miniapp_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wechat_inbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('outbox_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sent_via', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('wechat_inbound', schema=None) as batch_op:
        batch_op.drop_column('sent_via')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('outbox_id')
        batch_op.drop_column('payload')
