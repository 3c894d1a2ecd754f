"""complaint workflow: the status machine's steps, each with its own timestamp, the deadline of the step a
complaint waits for, the investigating unit, the verdict, the second review

Existing rows map onto the new machine: submitted -> filed; routed stays routed (explained when the unit's
explanation is in); answered stays answered, or closed when the answer was already rated. Deadlines of the step
a row waits for are set from the defaults in calendar days (accept 1, verdict 3, rating 7 days); the
investigating unit is the handling unit, or the unit above the officer complained about.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 05:00:00

"""

from datetime import timedelta

from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TIMES = (
    "step_due_at",
    "accepted_at",
    "explanation_requested_at",
    "explanation_due_at",
    "verdict_at",
    "rated_at",
    "reopened_at",
    "closed_at",
)
OFFICERS = ("accepted_by_id", "explanation_requested_by_id", "verdict_by_id")
TEXTS = ("explanation_request", "verdict_action", "first_explanation", "first_verdict_action", "first_answer")


def upgrade():
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("investigating_unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review", sa.Integer(), server_default="1", nullable=False))
        for name in TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        for name in OFFICERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
        for name in TEXTS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("verdict", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("first_verdict", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("first_rating", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_complaint_investigating_unit_id_unit"), "unit", ["investigating_unit_id"], ["id"]
        )
        for name in OFFICERS:
            batch_op.create_foreign_key(batch_op.f(f"fk_complaint_{name}_officer"), "officer", [name], ["id"])
        batch_op.create_index("ix_complaint_queue", ["investigating_unit_id", "step_due_at"], unique=False)
    _map_existing_rows()


def _map_existing_rows():
    connection = op.get_bind()
    complaint = sa.table(
        "complaint",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("handling_unit_id", sa.Integer()),
        sa.column("against_officer_id", sa.Integer()),
        sa.column("investigating_unit_id", sa.Integer()),
        sa.column("filed_at", sa.DateTime(timezone=True)),
        sa.column("answered_at", sa.DateTime(timezone=True)),
        sa.column("explained_at", sa.DateTime(timezone=True)),
        sa.column("unit_explanation", sa.Text()),
        sa.column("rating", sa.Integer()),
        sa.column("step_due_at", sa.DateTime(timezone=True)),
        sa.column("closed_at", sa.DateTime(timezone=True)),
    )
    officer = sa.table("officer", sa.column("id", sa.Integer()), sa.column("unit_id", sa.Integer()))
    unit = sa.table("unit", sa.column("id", sa.Integer()), sa.column("parent_id", sa.Integer()))
    above = (
        sa.select(sa.func.coalesce(unit.c.parent_id, unit.c.id))
        .select_from(officer.join(unit, unit.c.id == officer.c.unit_id))
        .where(officer.c.id == complaint.c.against_officer_id)
        .scalar_subquery()
    )
    connection.execute(
        complaint.update()
        .where(complaint.c.against_officer_id.is_not(None))
        .values(investigating_unit_id=above)
    )
    connection.execute(
        complaint.update()
        .where(complaint.c.against_officer_id.is_(None))
        .values(investigating_unit_id=complaint.c.handling_unit_id)
    )
    rows = connection.execute(
        sa.select(
            complaint.c.id,
            complaint.c.status,
            complaint.c.filed_at,
            complaint.c.answered_at,
            complaint.c.explained_at,
            complaint.c.unit_explanation,
            complaint.c.rating,
        )
    ).all()
    for row in rows:
        values = {}
        if row.status == "submitted":
            values = {"status": "filed", "step_due_at": row.filed_at + timedelta(days=1)}
        elif row.status == "routed" and row.unit_explanation is not None:
            values = {"status": "explained", "step_due_at": row.explained_at + timedelta(days=3)}
        elif row.status == "routed":
            values = {"step_due_at": row.filed_at + timedelta(days=1)}
        elif row.status == "answered" and row.rating is not None:
            values = {"status": "closed", "closed_at": row.answered_at}
        elif row.status == "answered":
            values = {"step_due_at": row.answered_at + timedelta(days=7)}
        if values:
            connection.execute(complaint.update().where(complaint.c.id == row.id).values(**values))


def downgrade():
    connection = op.get_bind()
    complaint = sa.table("complaint", sa.column("status", sa.String()))
    connection.execute(complaint.update().where(complaint.c.status == "filed").values(status="submitted"))
    connection.execute(
        complaint.update()
        .where(complaint.c.status.in_(["accepted", "investigating", "explained", "decided"]))
        .values(status="routed")
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_queue")
        for name in reversed(OFFICERS):
            batch_op.drop_constraint(batch_op.f(f"fk_complaint_{name}_officer"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_complaint_investigating_unit_id_unit"), type_="foreignkey")
        for name in ("first_rating", "first_verdict", "verdict", *TEXTS, *OFFICERS, *TIMES, "review"):
            batch_op.drop_column(name)
        batch_op.drop_column("investigating_unit_id")
