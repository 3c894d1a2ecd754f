"""audit chain: its hash columns compared byte by byte (collation "C", PostgreSQL): hex digests have no language,
and their two unique indexes are built about four times faster (abbreviated sort keys) and checked at every
append with memcmp instead of the locale's rules

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 16:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite compares text byte by byte already
    # Same type, another collation: no table rewrite (the append-only triggers fire on rows, not on this); the
    # two unique indexes are rebuilt.
    op.execute(
        f"ALTER TABLE audit_entry ALTER COLUMN prev_hash TYPE varchar(64) COLLATE {collation}, "
        f"ALTER COLUMN hash TYPE varchar(64) COLLATE {collation}"
    )


def upgrade():
    _collate('"C"')


def downgrade():
    _collate('"default"')
