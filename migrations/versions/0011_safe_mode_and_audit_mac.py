"""safe mode's durable replay guard, the audit chain's MAC key id, and an append-only audit table

`wechat_nonce`: the (timestamp, nonce) of each accepted callback whose nonce the database had to decide, with a
digest of its body, until it expires. `audit_entry.key_id`: which MAC key signed an entry (NULL: written before
the MAC, a plain SHA-256). On PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE of `audit_entry` for every
role; only a superuser session with `session_replication_role = replica` (maintenance, the test suite's reset)
gets past them, and the application's role must not be a superuser.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 04:50:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


APPEND_ONLY = """
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade():
    op.create_table(
        "wechat_nonce",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_wechat_nonce")),
    )
    with op.batch_alter_table("wechat_nonce", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wechat_nonce_expires_at"), ["expires_at"], unique=False)

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)
        op.execute(
            "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entry_no_truncate ON audit_entry")
        op.execute("DROP TRIGGER audit_entry_no_change ON audit_entry")
        op.execute("DROP FUNCTION audit_entry_append_only()")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("key_id")
    with op.batch_alter_table("wechat_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_nonce_expires_at"))
    op.drop_table("wechat_nonce")
