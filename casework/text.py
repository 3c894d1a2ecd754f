"""Free text from citizens and officers: trimmed, stripped of control characters, bounded."""

import re

from casework.errors import InvalidInput

# Control characters (NUL above all, which PostgreSQL refuses in text) never belong in what people write.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(value, *, missing: str, limit: int, what: str = "内容") -> str:
    """The cleaned text, or InvalidInput with `missing` when empty and a length message when too long."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{what}格式不正确")
    value = _CONTROL.sub("", value or "").strip()
    if not value:
        raise InvalidInput(missing)
    if len(value) > limit:
        raise InvalidInput(f"{what}过长(最多{limit}字)")
    return value
