"""Who may act on what: a citizen only on their own records, an officer only with a fitting role."""

from casework.errors import Forbidden, NotFound
from casework.models import Citizen, Officer, Role


def require_owner(record, citizen: Citizen) -> None:
    """A citizen's access to another's record looks exactly like a missing record (no existence leak)."""
    if not isinstance(citizen, Citizen) or record.citizen_id != citizen.id:
        raise NotFound("未找到该记录")


def require_officer(actor, *roles: Role) -> Officer:
    if not isinstance(actor, Officer) or not actor.active:
        raise Forbidden("仅限民警操作")
    if roles and not any(actor.has_role(role) for role in roles):
        raise Forbidden("您的角色无权执行该操作")
    return actor
