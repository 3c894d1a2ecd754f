"""The maintained list of case causes (案由), read from `casework/seed/case_causes.json`."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from casework.errors import InvalidInput

CAUSES_FILE = Path(__file__).with_name("seed") / "case_causes.json"


@dataclass(frozen=True)
class Cause:
    code: str
    name: str
    case_type: str
    active: bool = True


@cache
def all_causes() -> dict[str, Cause]:
    """Every cause by code, in the file's order."""
    rows = json.loads(CAUSES_FILE.read_text(encoding="utf-8"))["causes"]
    return {row["code"]: Cause(row["code"], row["name"], row["type"], bool(row.get("active", True))) for row in rows}


def of_type(case_type: str) -> list[Cause]:
    """The active causes a case of `case_type` may be given."""
    return [c for c in all_causes().values() if c.active and c.case_type == case_type]


def name(code: str | None) -> str:
    """The cause's name for display (an unknown code shows as itself)."""
    if code is None:
        return "未定案由"
    cause = all_causes().get(code)
    return cause.name if cause else code


def checked(code: str, case_type: str) -> Cause:
    """The active cause `code` for a case of `case_type`; InvalidInput for anything else."""
    cause = all_causes().get((code or "").strip())
    if cause is None or not cause.active:
        raise InvalidInput("案由不在案由目录中")
    if cause.case_type != case_type:
        raise InvalidInput("案由与案件类型不符")
    return cause
