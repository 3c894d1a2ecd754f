"""Migration files are named in chain order, so that a listing of migrations/versions reads as the history."""

import re
from pathlib import Path

from alembic.script import ScriptDirectory

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def chain() -> list[str]:
    """File names from the first migration to the head, following down_revision."""
    scripts = ScriptDirectory(str(VERSIONS.parent), version_locations=[str(VERSIONS)])
    assert len(scripts.get_heads()) == 1, f"the migrations have several heads: {scripts.get_heads()}"
    return [Path(script.path).name for script in reversed(list(scripts.walk_revisions()))]


def test_file_names_sort_in_chain_order():
    files = sorted(path.name for path in VERSIONS.glob("*.py"))
    assert chain() == files


def test_file_names_are_numbered_one_by_one():
    numbers = [re.match(r"(\d{4})_[a-z0-9_]+\.py$", name) for name in chain()]
    assert all(numbers), chain()
    assert [int(match.group(1)) for match in numbers] == list(range(1, len(numbers) + 1))
