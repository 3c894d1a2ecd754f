"""The one rate limiter: a fixed window per name, counted in the store, failing open.

A window starts at the first attempt under a name and lasts the rule's seconds. When the store cannot count
(Redis unreachable) the attempt is allowed: turning a report away is worse than letting a flood through for a
moment.
"""

import re
from dataclasses import dataclass

from store.scope import state

RULE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Rule:
    """At most `count` attempts in `seconds`."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rule":
        """'10/600' -> Rule(count=10, seconds=600)."""
        match = RULE.fullmatch(str(text))
        if match is None or int(match.group(2)) <= 0:
            raise ValueError(f"a rate limit is written count/seconds, e.g. 10/600 (got {text!r})")
        return cls(int(match.group(1)), int(match.group(2)))


class Limited(Exception):
    """Over the limit; try again in `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def hit(name: str, rule: Rule | str | None) -> None:
    """Count one attempt under `name`; raise Limited when it is over `rule` (no rule: no limit)."""
    if not rule:
        return
    rule = rule if isinstance(rule, Rule) else Rule.parse(rule)
    counted = state("rate").count(name, rule.seconds)
    if counted is None:
        return  # the store cannot count right now: let the attempt through
    used, seconds_left = counted
    if used > rule.count:
        raise Limited(seconds_left)


def allows(name: str, rule: Rule | str | None) -> bool:
    """Whether one more attempt under `name` fits `rule` (and count it)."""
    try:
        hit(name, rule)
    except Limited:
        return False
    return True
