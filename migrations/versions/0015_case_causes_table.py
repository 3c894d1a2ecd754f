"""the case file's gaps: the cause list (案由) as a table, seeded from casework/seed/case_causes.json; a cause
history row may clear the cause (the case's type changed); the investigation clock's monitoring point (seeded);
case-side clocks and warnings named by the case number instead of the incident number

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 08:30:00

"""

import json
from pathlib import Path

from alembic import op
import sqlalchemy as sa

import casework.db

# The seed file as it is when this migration runs: a fresh install gets today's list; `flask seed` / `flask demo`
# add causes a later file gains (never overriding what an admin renamed or deactivated).
CAUSES_FILE = Path(casework.db.__file__).with_name("seed") / "case_causes.json"

POINT = {
    "code": "INVESTIGATION_OVERDUE",
    "name": "立案侦查超期",
    "rule": "clock",
    "parameters": {"days": 60, "working": False, "blue_share": 0.8, "category_key": "investigation_days"},
    "colour_path": "blue,red",
    "enabled": True,
    "level": "province",
    "description": "刑事案件立案后N日内应侦查终结(移送审查起诉或作出处理),逾期须经审批延长"
    "(默认60日,参照刑事诉讼法第一百五十六条侦查羁押期限二个月)",
}

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    cause = op.create_table(
        "case_cause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("case_type", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_cause")),
        sa.UniqueConstraint("code", name=op.f("uq_case_cause_code")),
    )
    rows = json.loads(CAUSES_FILE.read_text(encoding="utf-8"))["causes"]
    now = casework.db.utcnow()
    op.bulk_insert(
        cause,
        [
            {
                "code": row["code"],
                "name": row["name"],
                "case_type": row["type"],
                "active": bool(row.get("active", True)),
                "position": position,
                "updated_at": now,
            }
            for position, row in enumerate(rows, start=1)
        ],
    )

    with op.batch_alter_table("case_cause_change", schema=None) as batch_op:
        batch_op.alter_column("to_code", existing_type=sa.String(length=16), nullable=True)

    point = sa.table(
        "monitoring_point",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("rule", sa.String),
        sa.column("parameters", sa.JSON),
        sa.column("colour_path", sa.String),
        sa.column("enabled", sa.Boolean),
        sa.column("level", sa.String),
        sa.column("description", sa.Text),
    )
    present = op.get_bind().scalar(sa.text("SELECT count(*) FROM monitoring_point WHERE code = :c"), {"c": POINT["code"]})
    if not present:  # the application may have put it back already (it restores missing default points)
        op.bulk_insert(point, [POINT])

    # A case's clocks and warnings were named by the incident number when they started at acceptance.
    for table in ("deadline_clock", "supervision_warning"):
        op.execute(
            f"UPDATE {table} SET subject_number = "
            f"(SELECT case_file.number FROM case_file WHERE case_file.id = {table}.subject_id) "
            f"WHERE subject_type = 'case' AND EXISTS "
            f"(SELECT 1 FROM case_file WHERE case_file.id = {table}.subject_id)"
        )


def downgrade():
    code = POINT["code"]
    points = f"SELECT id FROM monitoring_point WHERE code = '{code}'"
    warnings = f"SELECT id FROM supervision_warning WHERE point_id IN ({points})"
    op.execute(f"DELETE FROM supervision_notification WHERE warning_id IN ({warnings})")
    op.execute(f"DELETE FROM supervision_warning WHERE point_id IN ({points})")
    op.execute(f"DELETE FROM deadline_clock WHERE kind = '{code}'")
    op.execute(f"DELETE FROM monitoring_point WHERE code = '{code}'")
    op.execute("DELETE FROM case_cause_change WHERE to_code IS NULL")
    with op.batch_alter_table("case_cause_change", schema=None) as batch_op:
        batch_op.alter_column("to_code", existing_type=sa.String(length=16), nullable=False)
    op.drop_table("case_cause")
