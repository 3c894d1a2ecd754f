"""indexes that keep the hot queries flat as the tables grow

A citizen's reports and a doorplate's history: (owner, id), which serves the filter and the newest-first order.
A report's progress: timeline_entry (incident_id, id). The outbox relay's claim and the sweep of unused uploads:
partial indexes over only the rows still waiting, so they stay the size of the backlog. The single-column
indexes the composite ones start with are dropped (each one is one more write per report).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index("ix_incident_citizen_recent", ["citizen_id", "id"], unique=False)
        batch_op.create_index("ix_incident_doorplate_recent", ["doorplate_id", "id"], unique=False)
        batch_op.drop_index("ix_incident_citizen_id")
        batch_op.drop_index("ix_incident_doorplate_id")

    with op.batch_alter_table("timeline_entry", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_entry_incident_order", ["incident_id", "id"], unique=False)
        batch_op.drop_index("ix_timeline_entry_incident_id")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_message_undone",
            ["id"],
            unique=False,
            postgresql_where=sa.text("done_at IS NULL"),
            sqlite_where=sa.text("done_at IS NULL"),
        )
        batch_op.drop_index("ix_outbox_message_pending")

    with op.batch_alter_table("miniapp_upload", schema=None) as batch_op:
        batch_op.create_index(
            "ix_miniapp_upload_unbound",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("attachment_id IS NULL"),
            sqlite_where=sa.text("attachment_id IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("miniapp_upload", schema=None) as batch_op:
        batch_op.drop_index("ix_miniapp_upload_unbound")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_pending", ["done_at", "dispatched_at"], unique=False)
        batch_op.drop_index("ix_outbox_message_undone")

    with op.batch_alter_table("timeline_entry", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_entry_incident_id", ["incident_id"], unique=False)
        batch_op.drop_index("ix_timeline_entry_incident_order")

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index("ix_incident_doorplate_id", ["doorplate_id"], unique=False)
        batch_op.create_index("ix_incident_citizen_id", ["citizen_id"], unique=False)
        batch_op.drop_index("ix_incident_doorplate_recent")
        batch_op.drop_index("ix_incident_citizen_recent")
