"""evaluation deadlines: a task's own scoring deadline (extended or reassigned) and when its evaluator's WeChat was
told; the monitoring points of the scoring and review deadlines (seeded)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 08:40:00

"""

from alembic import op
import sqlalchemy as sa

import casework.db

POINTS = [
    {
        "code": "EVALUATION_SCORING_DUE",
        "name": "考评评查超期",
        "rule": "clock",
        "parameters": {"blue_share": 0.75},
        "colour_path": "blue,red",
        "enabled": True,
        "level": "province",
        "description": "评查任务临近方案规定的评查截止时间仍未提交(蓝,提醒评查人),截止时仍未提交(红,告知组织单位)",
    },
    {
        "code": "EVALUATION_REVIEW_DUE",
        "name": "考评申诉超期未复核",
        "rule": "clock",
        "parameters": {},
        "colour_path": "red",
        "enabled": True,
        "level": "province",
        "description": "被考评单位的申诉至方案规定的复核截止时间仍未复核(红,告知组织单位)",
    },
]
CODES = "'EVALUATION_SCORING_DUE', 'EVALUATION_REVIEW_DUE'"

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("evaluation_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", casework.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("notified_at", casework.db.UTCDateTime(timezone=True), nullable=True))

    present = {row[0] for row in op.get_bind().execute(sa.text("SELECT code FROM monitoring_point"))}
    point = sa.table(
        "monitoring_point",
        *(sa.column(name) for name in ("code", "name", "rule", "colour_path", "enabled", "level", "description")),
        sa.column("parameters", sa.JSON),
    )
    missing = [p for p in POINTS if p["code"] not in present]
    if missing:
        op.bulk_insert(point, missing)


def downgrade():
    points = f"SELECT id FROM monitoring_point WHERE code IN ({CODES})"
    warnings = f"SELECT id FROM supervision_warning WHERE point_id IN ({points})"
    op.execute(f"DELETE FROM supervision_notification WHERE warning_id IN ({warnings})")
    op.execute(f"DELETE FROM supervision_warning WHERE point_id IN ({points})")
    op.execute(f"DELETE FROM deadline_clock WHERE kind IN ({CODES})")
    op.execute(f"DELETE FROM monitoring_point WHERE code IN ({CODES})")
    with op.batch_alter_table("evaluation_task", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
        batch_op.drop_column("due_at")
