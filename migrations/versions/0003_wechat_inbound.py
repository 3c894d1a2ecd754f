"""wechat inbound messages (dedupe and stored replies)

Revision ID: bot_0001
Revises: qr_0001
Create Date: 2026-11-26 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'bot_0001'
down_revision = 'qr_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wechat_inbound',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('msg_type', sa.String(length=48), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_wechat_inbound'))
    )
    with op.batch_alter_table('wechat_inbound', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_inbound_openid'), ['openid'], unique=False)


def downgrade():
    with op.batch_alter_table('wechat_inbound', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_inbound_openid'))
    op.drop_table('wechat_inbound')
