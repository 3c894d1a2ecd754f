"""Who may act on what: a citizen only on their own records; an officer only with a fitting role, and only on
records held by a unit in their scope.

The rule of access by unit, in one place:

- An officer sees their own unit and every unit below it in the unit tree (province > city > county > station).
- A legal officer (法制员) or supervisor (督察) posted below a county sees the whole county: both work
  county-wide, whichever station they sit in. (The roles must be named on the officer: an administrator's
  blanket roles do not widen their scope.)
- A complaint is investigated by supervision in its investigating unit (a supervisor whose scope covers it); for a
  complaint about an officer that is the unit above the officer's, and no one posted in the officer's own unit
  (nor the officer) takes a step of the investigation: that unit only gives its explanation, as the handling unit.
- The root of the tree (the province, the command centre) sees everything, including incidents not yet routed
  to any unit (`unit_id` NULL). Any other unit sees no unrouted incident: until the router has decided whose it
  is, only the command centre may act on it (the router sends whatever it cannot place to the root).

Another unit's record answers exactly as a missing one does (`NotFound` with the same message), so that an
officer cannot learn that an id exists outside their scope.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true

from casework.db import db
from casework.errors import Forbidden, NotFound
from casework.models import Case, Citizen, Complaint, Incident, Officer, Role, Unit, UnitLevel

# What a missing record of each kind answers; a record outside the officer's scope answers the same.
MISSING = {Incident: "未找到该警情", Complaint: "未找到该投诉", Case: "未找到该案件"}
MISSING_RECORD = "未找到该记录"

COUNTY_WIDE_ROLES = (Role.LEGAL_OFFICER, Role.SUPERVISOR)


def require_owner(record, citizen: Citizen) -> None:
    """A citizen's access to another's record looks exactly like a missing record (no existence leak)."""
    if not isinstance(citizen, Citizen) or record.citizen_id != citizen.id:
        raise NotFound(MISSING_RECORD)


def require_officer(actor, *roles: Role) -> Officer:
    if not isinstance(actor, Officer) or not actor.active:
        raise Forbidden("仅限民警操作")
    if roles and not any(actor.has_role(role) for role in roles):
        raise Forbidden("您的角色无权执行该操作")
    return actor


@dataclass(frozen=True)
class Scope:
    """The units one officer may see: `everything` (the root: every unit and unrouted records), or `unit_ids`;
    `top` is the unit at the top of that subtree (None: the officer sees nothing)."""

    unit_ids: frozenset[int]
    everything: bool = False
    top: int | None = None

    def covers(self, unit_id: int | None) -> bool:
        """Whether a record held by `unit_id` (None: not yet routed) is visible."""
        return self.everything or (unit_id is not None and unit_id in self.unit_ids)

    def clause(self, column) -> ColumnElement[bool]:
        """A SQL condition on a unit id column that keeps exactly the visible rows."""
        if self.everything:
            return true()
        if not self.unit_ids:
            return false()
        return column.in_(sorted(self.unit_ids))


def scope_of(officer: Officer) -> Scope:
    """The units `officer` may see (computed from the whole unit tree, which is small, once per call)."""
    if not isinstance(officer, Officer) or not officer.active:
        return Scope(frozenset())
    tree = db.session.execute(select(Unit.id, Unit.parent_id, Unit.level)).all()
    parents = {unit_id: parent_id for unit_id, parent_id, _ in tree}
    if officer.unit_id not in parents:
        return Scope(frozenset())
    top = _scope_root(officer, parents, {unit_id: level for unit_id, _, level in tree})
    if parents[top] is None:
        return Scope(frozenset(parents), everything=True, top=top)
    children: dict[int, list[int]] = {}
    for unit_id, parent_id in parents.items():
        children.setdefault(parent_id, []).append(unit_id)
    seen, todo = set(), [top]
    while todo:
        unit_id = todo.pop()
        if unit_id not in seen:
            seen.add(unit_id)
            todo.extend(children.get(unit_id, ()))
    return Scope(frozenset(seen), top=top)


def _scope_root(officer: Officer, parents: dict[int, int | None], levels: dict[int, str]) -> int:
    """The top of the officer's subtree: their unit, or the county above it for county-wide roles."""
    if not any(role.value in (officer.roles or []) for role in COUNTY_WIDE_ROLES):
        return officer.unit_id
    unit_id: int | None = officer.unit_id
    while unit_id is not None:
        if levels[unit_id] == UnitLevel.COUNTY.value:
            return unit_id
        unit_id = parents[unit_id]
    return officer.unit_id  # above county level already: the officer's own subtree contains the counties


def visible_units_clause(officer: Officer, column) -> ColumnElement[bool]:
    """A SQL filter for officer-side queries: `column` (a unit id) is in the officer's scope."""
    return scope_of(officer).clause(column)


def unit_of(record) -> int | None:
    """The unit that holds `record`: an incident's handling unit, a complaint's (else its incident's), or the
    incident's for anything hanging off an incident (timeline entry, attachment, chat message), a case's for
    anything hanging off a case (measure, property item, material)."""
    if isinstance(record, Complaint):
        return record.handling_unit_id if record.handling_unit_id is not None else record.incident.unit_id
    if isinstance(record, Incident | Case):
        return record.unit_id
    if hasattr(record, "case"):  # a measure, a property item, a material: the case's unit
        return record.case.unit_id
    if hasattr(record, "incident"):
        return record.incident.unit_id
    return record.unit_id


def can_see(officer: Officer, record) -> bool:
    """Whether `record` is in `officer`'s scope."""
    return scope_of(officer).covers(unit_of(record))


def require_visible(officer: Officer, record) -> None:
    """Refuse a record outside the officer's scope exactly as a missing one is refused."""
    if record is None or not can_see(officer, record):
        raise not_found(type(record) if record is not None else None)


OWN_UNIT_REFUSED = "投诉涉及本单位民警,须由上级督察部门调查,本单位只能作出情况说明"


def require_investigating_scope(officer: Officer, complaint: Complaint | None) -> None:
    """Refuse a complaint whose investigating unit is outside the supervisor's scope as a missing one."""
    if complaint is None or not scope_of(officer).covers(complaint.investigating_unit_id):
        raise not_found(Complaint)


def may_investigate(officer: Officer, complaint: Complaint) -> bool:
    """Whether `officer` may take supervision's steps on `complaint`: not the officer complained about, nor
    anyone posted in that officer's unit."""
    against = complaint.against_officer
    return against is None or (officer.id != against.id and officer.unit_id != against.unit_id)


def require_investigator(officer: Officer, complaint: Complaint) -> None:
    """A supervisor in whose scope the complaint is investigated, and who is not of the accused officer's unit."""
    require_officer(officer, Role.SUPERVISOR)
    require_investigating_scope(officer, complaint)
    if not may_investigate(officer, complaint):
        raise Forbidden(OWN_UNIT_REFUSED)


def not_found(kind: type | None) -> NotFound:
    """The error a missing record of `kind` answers (and so also one outside the officer's scope)."""
    return NotFound(MISSING.get(kind, MISSING_RECORD))
