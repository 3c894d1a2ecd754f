"""number reservations: public numbers drawn for a captured WeChat message outside the transaction that uses them
(the row goes when the number is used; one that stays explains a gap in the day's numbers)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:00:00

"""

from alembic import op
import sqlalchemy as sa

import casework.db

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "number_reservation",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("reserved_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_number_reservation")),
        sa.UniqueConstraint("holder", name=op.f("uq_number_reservation_holder")),
    )


def downgrade():
    op.drop_table("number_reservation")
