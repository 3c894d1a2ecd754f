"""doorplate: the doorplate a moved one was replaced by

Revision ID: qr_0001
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = 'qr_0001'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('doorplate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moved_to_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_doorplate_moved_to_id_doorplate'), 'doorplate', ['moved_to_id'],
                                    ['id'])


def downgrade():
    with op.batch_alter_table('doorplate', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_doorplate_moved_to_id_doorplate'), type_='foreignkey')
        batch_op.drop_column('moved_to_id')
