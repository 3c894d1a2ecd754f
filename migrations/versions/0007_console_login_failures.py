"""console: failed logins kept while they count towards a lockout; the officer an incident is assigned to; the
handling unit's explanation of a complaint

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('badge_no', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure')),
    )
    op.create_index('ix_login_failure_badge_at', 'login_failure', ['badge_no', 'at'], unique=False)
    op.create_index('ix_login_failure_address_at', 'login_failure', ['address', 'at'], unique=False)
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_officer_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_incident_assigned_officer_id_officer'), 'officer', ['assigned_officer_id'], ['id']
        )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_explanation', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('explained_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('explained_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_complaint_explained_by_id_officer'), 'officer', ['explained_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_complaint_explained_by_id_officer'), type_='foreignkey')
        batch_op.drop_column('explained_by_id')
        batch_op.drop_column('explained_at')
        batch_op.drop_column('unit_explanation')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incident_assigned_officer_id_officer'), type_='foreignkey')
        batch_op.drop_column('assigned_officer_id')
    op.drop_index('ix_login_failure_address_at', table_name='login_failure')
    op.drop_index('ix_login_failure_badge_at', table_name='login_failure')
    op.drop_table('login_failure')
