"""calendar: deadlines counted through a provisional holiday year (no official notice yet) instead of none

A clock is marked `provisional` instead of `calendar_missing` (its deadline is counted on the statutory holidays
and recomputed when the year's notice is loaded), and counts how often a loaded calendar moved its deadline
(`deadline_moves`: a new occurrence of its warnings). `provisional_due` keeps how a deadline stored in another
table's column (a complaint's answer date) was counted, to count it again. Clocks that were waiting for a year are
made due at once: the next sweep computes their deadline. The complaint-answer point loses its own `days` (its
clock now counts the complaint's own answer window, so that the 督察 warning and the complaint name one moment).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:00:00

"""

import json

import sqlalchemy as sa
from alembic import op

import casework.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "provisional_due",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_table", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("start_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("value", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisional_due")),
        sa.UniqueConstraint("subject_table", "subject_id", "field", name="uq_provisional_due_field"),
    )
    with op.batch_alter_table("provisional_due", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provisional_due_last_year"), ["last_year"], unique=False)

    # Plain ALTER TABLE (SQLite 3.35+ adds and drops columns in place): a batch copy of deadline_clock would drop
    # the table its warnings refer to.
    op.add_column("deadline_clock", sa.Column("provisional", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("deadline_clock", sa.Column("deadline_moves", sa.Integer(), nullable=False, server_default="0"))
    # A clock that waited for a year's calendar is looked at by the next sweep, which now gives it a deadline.
    op.execute(
        "UPDATE deadline_clock SET next_check_at = started_at "
        "WHERE calendar_missing AND stopped_at IS NULL AND next_check_at IS NULL"
    )
    _complaint_point_days(lambda values: {k: v for k, v in values.items() if k not in ("days", "working")})
    op.drop_index("ix_deadline_clock_calendar_missing", table_name="deadline_clock")
    op.drop_column("deadline_clock", "calendar_missing")
    op.create_index(
        "ix_deadline_clock_provisional",
        "deadline_clock",
        ["id"],
        unique=False,
        postgresql_where=sa.text("provisional"),
        sqlite_where=sa.text("provisional"),
    )


def _complaint_point_days(change) -> None:
    point = sa.table("monitoring_point", sa.column("id"), sa.column("code"), sa.column("parameters", sa.JSON))
    bind = op.get_bind()
    for row_id, parameters in bind.execute(
        sa.select(point.c.id, point.c.parameters).where(point.c.code == "COMPLAINT_UNANSWERED")
    ):
        values = json.loads(parameters) if isinstance(parameters, str) else dict(parameters or {})
        bind.execute(point.update().where(point.c.id == row_id).values(parameters=change(values)))


def downgrade():
    op.drop_index("ix_deadline_clock_provisional", table_name="deadline_clock")
    op.add_column(
        "deadline_clock", sa.Column("calendar_missing", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index(
        "ix_deadline_clock_calendar_missing",
        "deadline_clock",
        ["id"],
        unique=False,
        postgresql_where=sa.text("calendar_missing"),
        sqlite_where=sa.text("calendar_missing"),
    )
    op.drop_column("deadline_clock", "deadline_moves")
    op.drop_column("deadline_clock", "provisional")
    _complaint_point_days(lambda values: {"days": 7, "working": False, **values})
    with op.batch_alter_table("provisional_due", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisional_due_last_year"))
    op.drop_table("provisional_due")
