"""supervision: holiday calendar years, deadline clocks, monitoring points (seeded), warnings, notifications;
each incident stage's own timestamp; an officer's bound WeChat openid

The sweep reads clocks through a partial index on `next_check_at` (only clocks with something due), so it costs
what is due; one running clock per (subject, kind) and one warning per (clock, colour, occurrence) are unique, so
a job or a sweep run twice changes nothing twice.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 04:30:00

"""

from alembic import op
import sqlalchemy as sa

import casework.db

# The monitoring points as first seeded (an admin changes parameters and on/off afterwards, in the console).
POINTS = [
    (
        "FILING_OVERDUE",
        "受案立案超期",
        "clock",
        {"days": 3, "working": True, "blue_share": 0.6, "category_key": "filing_review_days"},
        "blue,red",
        "刑事案件受案后须在期限内作出立案或不予立案决定",
    ),
    (
        "CASE_OVERDUE",
        "治安案件办理超期",
        "clock",
        {"days": 30, "working": False, "blue_share": 0.8, "category_key": "case_days"},
        "blue,red",
        "治安案件自受案起30日内办结(经批准可延长30日)",
    ),
    (
        "COMPLAINT_UNANSWERED",
        "投诉未按期答复",
        "clock",
        {"days": 7, "working": False, "blue_share": 0.6},
        "blue,red",
        "投诉须在规定期限内答复投诉人",
    ),
    (
        "EXPLANATION_OVERDUE",
        "单位情况说明超期",
        "clock",
        {"days": 3, "working": True, "blue_share": 0.6},
        "blue,red",
        "被投诉单位须在期限内提交书面情况说明",
    ),
    (
        "INCIDENT_UNASSIGNED",
        "警情超时未派警",
        "clock",
        {"minutes": 10, "rectify_minutes": 20},
        "yellow,red",
        "警情接报后超过N分钟仍未分派或派警",
    ),
    (
        "CHAT_UNANSWERED",
        "群众留言超时未回复",
        "clock",
        {"minutes": 30, "rectify_minutes": 60},
        "yellow,red",
        "群众在对话中的留言超过N分钟无人回复",
    ),
    (
        "VIDEO_NOT_STORED",
        "视频证据未及时入库",
        "clock",
        {"hours": 6, "rectify_hours": 24},
        "yellow,red",
        "群众上传的视频超过N小时仍未存入证据库",
    ),
    (
        "RECLASSIFIED_AFTER_HANDLED",
        "警情不当归类",
        "finding",
        {"rectify_days": 3, "working": True},
        "yellow,red",
        "警情处置完毕后又被修改类别",
    ),
    (
        "CATEGORY_CHANGED_OFTEN",
        "反复修改案由",
        "finding",
        {"max_changes": 2, "rectify_days": 3, "working": True},
        "yellow,red",
        "同一警情(案件)的类别或案由修改超过N次",
    ),
    (
        "CLOSED_WITHOUT_SCENE",
        "派警后速结未到场",
        "finding",
        {"minutes": 5, "rectify_days": 3, "working": True},
        "yellow,red",
        "派警后N分钟内即结警,未见到场处置",
    ),
]


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("loaded_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_year")),
    )
    op.create_table(
        "monitoring_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("colour_path", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_point")),
        sa.UniqueConstraint("code", name=op.f("uq_monitoring_point_code")),
    )
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["year"], ["calendar_year.year"], name=op.f("fk_calendar_day_year_calendar_year"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_day")),
    )
    with op.batch_alter_table("calendar_day", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_day_year"), ["year"], unique=False)

    op.create_table(
        "deadline_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("subject_number", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("started_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=True),
        sa.Column("window_minutes", sa.Integer(), nullable=True),
        sa.Column("working_days", sa.Boolean(), nullable=False),
        sa.Column("due_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blue_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rectify_due_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.String(length=64), nullable=True),
        sa.Column("next_check_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("extended_count", sa.Integer(), nullable=False),
        sa.Column("calendar_missing", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_deadline_clock_incident_id_incident")),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], name=op.f("fk_deadline_clock_officer_id_officer")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_deadline_clock_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_clock")),
    )
    with op.batch_alter_table("deadline_clock", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deadline_clock_calendar_missing",
            ["id"],
            unique=False,
            postgresql_where=sa.text("calendar_missing"),
            sqlite_where=sa.text("calendar_missing"),
        )
        batch_op.create_index(
            "ix_deadline_clock_next_check",
            ["next_check_at"],
            unique=False,
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
        )
        batch_op.create_index("ix_deadline_clock_subject", ["subject_type", "subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deadline_clock_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(
            "uq_deadline_clock_running",
            ["subject_type", "subject_id", "kind"],
            unique=True,
            postgresql_where=sa.text("stopped_at IS NULL"),
            sqlite_where=sa.text("stopped_at IS NULL"),
        )

    op.create_table(
        "supervision_warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clock_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("subject_number", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("escalated_to_unit_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rectify_due_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rectification", sa.Text(), nullable=True),
        sa.Column("rectified_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rectified_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["clock_id"], ["deadline_clock.id"], name=op.f("fk_supervision_warning_clock_id_deadline_clock")
        ),
        sa.ForeignKeyConstraint(
            ["escalated_to_unit_id"], ["unit.id"], name=op.f("fk_supervision_warning_escalated_to_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_supervision_warning_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], name=op.f("fk_supervision_warning_officer_id_officer")),
        sa.ForeignKeyConstraint(
            ["point_id"], ["monitoring_point.id"], name=op.f("fk_supervision_warning_point_id_monitoring_point")
        ),
        sa.ForeignKeyConstraint(
            ["rectified_by_id"], ["officer.id"], name=op.f("fk_supervision_warning_rectified_by_id_officer")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_supervision_warning_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_warning")),
        sa.UniqueConstraint("clock_id", "colour", "occurrence", name="uq_supervision_warning_once"),
    )
    with op.batch_alter_table("supervision_warning", schema=None) as batch_op:
        batch_op.create_index("ix_supervision_warning_clock", ["clock_id"], unique=False)
        batch_op.create_index(
            "ix_supervision_warning_open_incident",
            ["incident_id"],
            unique=False,
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.create_index("ix_supervision_warning_unit_raised", ["unit_id", "raised_at"], unique=False)

    op.create_table(
        "supervision_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officer.id"], name=op.f("fk_supervision_notification_officer_id_officer")
        ),
        sa.ForeignKeyConstraint(
            ["warning_id"],
            ["supervision_warning.id"],
            name=op.f("fk_supervision_notification_warning_id_supervision_warning"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_notification")),
        sa.UniqueConstraint("warning_id", "officer_id", "channel", name="uq_supervision_notification_once"),
    )
    with op.batch_alter_table("supervision_notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supervision_notification_officer_unread", ["officer_id", "read_at", "id"], unique=False
        )

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", casework.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("on_scene_at", casework.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("handled_at", casework.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", casework.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("accepted_at", casework.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("filed_at", casework.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("concluded_at", casework.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wechat_openid", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_officer_wechat_openid"), ["wechat_openid"])

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
    op.bulk_insert(
        point,
        [
            {
                "code": code,
                "name": name,
                "rule": rule,
                "parameters": parameters,
                "colour_path": path,
                "enabled": True,
                "level": "province",
                "description": description,
            }
            for code, name, rule, parameters, path, description in POINTS
        ],
    )


def downgrade():
    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_officer_wechat_openid"), type_="unique")
        batch_op.drop_column("wechat_openid")

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("concluded_at")
        batch_op.drop_column("filed_at")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("handled_at")
        batch_op.drop_column("on_scene_at")
        batch_op.drop_column("dispatched_at")

    with op.batch_alter_table("supervision_notification", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_notification_officer_unread")

    op.drop_table("supervision_notification")
    with op.batch_alter_table("supervision_warning", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_warning_unit_raised")
        batch_op.drop_index(
            "ix_supervision_warning_open_incident",
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.drop_index("ix_supervision_warning_clock")

    op.drop_table("supervision_warning")
    with op.batch_alter_table("deadline_clock", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_deadline_clock_running",
            postgresql_where=sa.text("stopped_at IS NULL"),
            sqlite_where=sa.text("stopped_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_deadline_clock_unit_id"))
        batch_op.drop_index("ix_deadline_clock_subject")
        batch_op.drop_index(
            "ix_deadline_clock_next_check",
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_deadline_clock_calendar_missing",
            postgresql_where=sa.text("calendar_missing"),
            sqlite_where=sa.text("calendar_missing"),
        )

    op.drop_table("deadline_clock")
    with op.batch_alter_table("calendar_day", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_day_year"))

    op.drop_table("calendar_day")
    op.drop_table("monitoring_point")
    op.drop_table("calendar_year")
