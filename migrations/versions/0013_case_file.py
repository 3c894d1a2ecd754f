"""the case file: cases (sharing their incident's id) with the history of their cause, compulsory measures and
their steps, case property and its movements (the chain of custody), case materials; the case file's monitoring
points (seeded)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 05:00:00

"""

from alembic import op
import sqlalchemy as sa

import casework.db

# The case file's monitoring points as first seeded (an admin changes parameters and on/off afterwards).
POINTS = [
    (
        "MEASURE_SUMMONS_TERM",
        "传唤超时",
        "clock",
        {"blue_share": 0.75},
        "blue,red",
        "传唤、拘传持续时间将满(蓝)或超过期限仍未结束或经批准延长(红)",
    ),
    (
        "MEASURE_DETENTION_TERM",
        "刑事拘留超期未提请逮捕",
        "clock",
        {"blue_share": 0.67},
        "blue,red",
        "刑事拘留期限将满(蓝)或届满仍未提请批准逮捕、变更、释放或经批准延长(红)",
    ),
    (
        "MEASURE_ARREST_TERM",
        "提请逮捕超期未处理",
        "clock",
        {"blue_share": 0.7},
        "blue,red",
        "提请批准逮捕后检察机关决定期限将满或已过仍未变更或解除",
    ),
    (
        "MEASURE_BAIL_TERM",
        "取保候审期限届满",
        "clock",
        {"blue_share": 0.9},
        "blue,red",
        "取保候审期限将满(蓝)或届满仍未解除或变更(红)",
    ),
    (
        "MEASURE_SURVEILLANCE_TERM",
        "监视居住期限届满",
        "clock",
        {"blue_share": 0.9},
        "blue,red",
        "监视居住期限将满(蓝)或届满仍未解除或变更(红)",
    ),
    (
        "MEASURE_ADMIN_DETENTION_TERM",
        "行政拘留期满未解除",
        "clock",
        {"blue_share": 0.8},
        "blue,red",
        "行政拘留期限将满(蓝)或届满仍未解除(红)",
    ),
    (
        "MEASURE_UNAPPROVED",
        "强制措施延长未审批",
        "finding",
        {"rectify_days": 1, "working": False},
        "yellow,red",
        "强制措施延长期限未经审批",
    ),
    (
        "MEASURE_BEYOND_LIMIT",
        "违规取保候审",
        "finding",
        {"rectify_days": 3, "working": True},
        "yellow,red",
        "取保候审、监视居住续期后超过法定最长期限",
    ),
    (
        "MEASURE_BEFORE_FILING",
        "未立案采取强制措施",
        "finding",
        {"rectify_days": 3, "working": True},
        "yellow,red",
        "案件尚未立案即采取不允许立案前采取的强制措施",
    ),
    (
        "PROPERTY_NOT_STORED",
        "涉案财物未按时入库",
        "clock",
        {"hours": 24, "rectify_hours": 24},
        "yellow,red",
        "扣押的涉案财物超过N小时未移交涉案财物管理室",
    ),
    (
        "PROPERTY_OUT_OVERDUE",
        "涉案财物调出逾期未还",
        "clock",
        {"rectify_days": 1, "working": False},
        "yellow,red",
        "涉案财物调出后超过约定归还日期仍未归还入库",
    ),
    (
        "PROPERTY_UNDISPOSED",
        "办结案件财物未处置",
        "finding",
        {"rectify_days": 30, "working": False},
        "yellow,red",
        "案件已办结,仍有涉案财物未处置、发还或移交",
    ),
    (
        "MATERIALS_MISSING",
        "案件材料未录入",
        "clock",
        {"days": 3, "rectify_days": 3, "working": True},
        "yellow,red",
        "案件进入某一阶段后N个工作日内仍未录入该阶段必需的法律文书",
    ),
]


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_file",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("case_type", sa.String(length=16), nullable=False),
        sa.Column("cause_code", sa.String(length=16), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("lead_officer_id", sa.Integer(), nullable=True),
        sa.Column("second_officer_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filed_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_filed_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_filed_reason", sa.Text(), nullable=True),
        sa.Column("investigating_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("transferred_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("concluded_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["incident.id"], name=op.f("fk_case_file_id_incident")),
        sa.ForeignKeyConstraint(["lead_officer_id"], ["officer.id"], name=op.f("fk_case_file_lead_officer_id_officer")),
        sa.ForeignKeyConstraint(
            ["second_officer_id"], ["officer.id"], name=op.f("fk_case_file_second_officer_id_officer")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_case_file_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file")),
        sa.UniqueConstraint("number", name=op.f("uq_case_file_number")),
    )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_file_stage"), ["stage"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_file_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "case_cause_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_code", sa.String(length=16), nullable=True),
        sa.Column("to_code", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], name=op.f("fk_case_cause_change_case_id_case_file")),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], name=op.f("fk_case_cause_change_officer_id_officer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_cause_change")),
    )
    with op.batch_alter_table("case_cause_change", schema=None) as batch_op:
        batch_op.create_index("ix_case_cause_change_case_order", ["case_id", "id"], unique=False)

    op.create_table(
        "case_material",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("storage_key", sa.String(length=256), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("original_name", sa.String(length=256), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], name=op.f("fk_case_material_case_id_case_file")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["officer.id"], name=op.f("fk_case_material_uploaded_by_id_officer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_material")),
    )
    with op.batch_alter_table("case_material", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_material_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("person_name", sa.String(length=64), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("term_end_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("legal_end_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("document_ref", sa.String(length=64), nullable=False),
        sa.Column("before_filing", sa.Boolean(), nullable=False),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["officer.id"], name=op.f("fk_case_measure_approved_by_id_officer")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], name=op.f("fk_case_measure_case_id_case_file")),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], name=op.f("fk_case_measure_officer_id_officer")),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"], ["case_measure.id"], name=op.f("fk_case_measure_replaced_by_id_case_measure")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_measure")),
    )
    with op.batch_alter_table("case_measure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_measure_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_property_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=2, asdecimal=False), nullable=False),
        sa.Column("quantity_unit", sa.String(length=16), nullable=False),
        sa.Column("photo_key", sa.String(length=256), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("seized_by_id", sa.Integer(), nullable=False),
        sa.Column("seized_at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=True),
        sa.Column("stored_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("return_due_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], name=op.f("fk_case_property_item_case_id_case_file")),
        sa.ForeignKeyConstraint(["holder_id"], ["officer.id"], name=op.f("fk_case_property_item_holder_id_officer")),
        sa.ForeignKeyConstraint(
            ["seized_by_id"], ["officer.id"], name=op.f("fk_case_property_item_seized_by_id_officer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_property_item")),
    )
    with op.batch_alter_table("case_property_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_property_item_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_measure_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("document_ref", sa.String(length=64), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("term_end_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["officer.id"], name=op.f("fk_case_measure_step_approved_by_id_officer")
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["case_measure.id"], name=op.f("fk_case_measure_step_measure_id_case_measure")
        ),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], name=op.f("fk_case_measure_step_officer_id_officer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_measure_step")),
    )
    with op.batch_alter_table("case_measure_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_measure_step_measure_id"), ["measure_id"], unique=False)

    op.create_table(
        "case_property_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("at", casework.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_officer_id", sa.Integer(), nullable=False),
        sa.Column("to_officer_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=128), nullable=True),
        sa.Column("return_due_at", casework.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_officer_id"], ["officer.id"], name=op.f("fk_case_property_movement_from_officer_id_officer")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["case_property_item.id"], name=op.f("fk_case_property_movement_item_id_case_property_item")
        ),
        sa.ForeignKeyConstraint(
            ["to_officer_id"], ["officer.id"], name=op.f("fk_case_property_movement_to_officer_id_officer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_property_movement")),
    )
    with op.batch_alter_table("case_property_movement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_property_movement_item_id"), ["item_id"], unique=False)

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
    codes = ", ".join(f"'{p[0]}'" for p in POINTS)
    points = f"SELECT id FROM monitoring_point WHERE code IN ({codes})"
    warnings = f"SELECT id FROM supervision_warning WHERE point_id IN ({points})"
    op.execute(f"DELETE FROM supervision_notification WHERE warning_id IN ({warnings})")
    op.execute(f"DELETE FROM supervision_warning WHERE point_id IN ({points})")
    op.execute(f"DELETE FROM deadline_clock WHERE kind IN ({codes}) OR subject_type IN ('measure', 'property')")
    op.execute(f"DELETE FROM monitoring_point WHERE code IN ({codes})")
    with op.batch_alter_table("case_property_movement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_property_movement_item_id"))

    op.drop_table("case_property_movement")
    with op.batch_alter_table("case_measure_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_measure_step_measure_id"))

    op.drop_table("case_measure_step")
    with op.batch_alter_table("case_property_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_property_item_case_id"))

    op.drop_table("case_property_item")
    with op.batch_alter_table("case_measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_measure_case_id"))

    op.drop_table("case_measure")
    with op.batch_alter_table("case_material", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_material_case_id"))

    op.drop_table("case_material")
    with op.batch_alter_table("case_cause_change", schema=None) as batch_op:
        batch_op.drop_index("ix_case_cause_change_case_order")

    op.drop_table("case_cause_change")
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_file_unit_id"))
        batch_op.drop_index(batch_op.f("ix_case_file_stage"))

    op.drop_table("case_file")
