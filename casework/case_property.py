"""Case property (涉案财物): items seized in a case, handed to the property room in time, and every movement signed
for by the officer giving it and the one receiving it, so that the chain of custody is complete. A movement
recorded by an officer who does not hold the item is refused."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from casework import audit, clock, text
from casework.access import not_found, require_officer, require_visible
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.events import Event, publish
from casework.models import Case, CaseStage, Officer, PropertyItem, PropertyMovement, PropertyState, Role
from casework.unit_of_work import use_case

P = PropertyState
SEIZING_ROLES = (Role.OFFICER, Role.LEGAL_OFFICER)
# Who records a movement: the officer handing the item over, or the property room's keeper (保管员).
PROPERTY_ROLES = (Role.OFFICER, Role.LEGAL_OFFICER, Role.PROPERTY_KEEPER)


@dataclass(frozen=True)
class MovementKind:
    code: str
    label: str
    allowed_from: frozenset[PropertyState]
    to_state: PropertyState | None  # None: unchanged (a hand-over between officers)
    receiver_officer: bool  # received by an officer (else by someone outside: an owner, another authority)


MOVEMENTS: dict[str, MovementKind] = {
    m.code: m
    for m in (
        MovementKind("stored", "入库", frozenset({P.SEIZED}), P.STORED, True),
        MovementKind("taken_out", "调出(检验、鉴定等)", frozenset({P.STORED}), P.OUT, True),
        MovementKind("returned", "归还入库", frozenset({P.OUT}), P.STORED, True),
        MovementKind("handed_over", "民警交接", frozenset({P.SEIZED, P.OUT, P.STORED}), None, True),
        MovementKind("transferred", "移交", frozenset({P.SEIZED, P.STORED, P.OUT}), P.TRANSFERRED, False),
        MovementKind("disposed", "处置", frozenset({P.STORED}), P.DISPOSED, False),
        MovementKind("returned_to_owner", "发还", frozenset({P.SEIZED, P.STORED, P.OUT}), P.RETURNED_TO_OWNER, False),
    )
}
# States in which the item is no longer the police's to keep.
SETTLED = frozenset({P.TRANSFERRED, P.DISPOSED, P.RETURNED_TO_OWNER})


def items_of(case: Case) -> list[PropertyItem]:
    return list(
        db.session.scalars(select(PropertyItem).where(PropertyItem.case_id == case.id).order_by(PropertyItem.id))
    )


def item_for(officer: Officer, item_id: int) -> PropertyItem:
    require_officer(officer)
    item = db.session.get(PropertyItem, item_id)
    if item is None:
        raise not_found(PropertyItem)
    require_visible(officer, item)
    return item


def undisposed(case: Case) -> list[PropertyItem]:
    """The items of a case still in police hands."""
    return [i for i in items_of(case) if i.state_enum not in SETTLED]


def custody_chain(item: PropertyItem) -> list[Officer]:
    """Every officer who held the item, in order (the seizing officer first)."""
    return [hand.officer for hand in custody_hands(item)]


@dataclass(frozen=True)
class Hand:
    """One officer in an item's chain of custody, and whether they held it as the property room's keeper."""

    officer: Officer
    as_keeper: bool


def custody_hands(item: PropertyItem) -> list[Hand]:
    """The chain of custody with the keepers marked: a hand that received the item into the property room (stored,
    returned, or handed over inside it) held it as keeper."""
    hands = [Hand(item.seized_by, False)]
    for movement in item.movements:
        if movement.to_officer is None:
            continue
        as_keeper = movement.kind in INTO_ROOM or (movement.kind == "handed_over" and hands[-1].as_keeper)
        if movement.to_officer.id != hands[-1].officer.id:
            hands.append(Hand(movement.to_officer, as_keeper))
    return hands


# Movements received into the property room, and those given out of it: a keeper must be on that side.
INTO_ROOM = frozenset({"stored", "returned"})


def is_keeper_for(officer: Officer, item: PropertyItem) -> bool:
    """Whether `officer` keeps the property room of the item's case unit or of a unit above it."""
    if not officer.active or Role.PROPERTY_KEEPER.value not in (officer.roles or []):
        return False  # named explicitly: an admin's every-role pass does not make them a keeper
    unit = item.case.unit
    rooms = {unit.id, *(u.id for u in unit.ancestors())} if unit is not None else set()
    return officer.unit_id in rooms


def keepers_for(item: PropertyItem, candidates: list[Officer]) -> list[Officer]:
    return [o for o in candidates if is_keeper_for(o, item)]


def _check_keepers(item: PropertyItem, chosen: MovementKind, actor: Officer, receiver: Officer | None) -> None:
    """Into the property room only through a keeper's hands; out of it only from a keeper's hands."""
    if chosen.code in INTO_ROOM and not is_keeper_for(receiver, item):
        raise Conflict(f"{chosen.label}须由本单位或上级单位涉案财物管理室的保管员接收,{receiver.name}不是保管员")
    if item.state_enum is P.STORED:
        if not is_keeper_for(actor, item):
            raise Conflict("财物在库,须由涉案财物管理室的保管员办理出库或交接")
        if chosen.code == "handed_over" and not is_keeper_for(receiver, item):
            raise Conflict(f"在库财物只能交接给保管员,{receiver.name}不是保管员")


@use_case
def seize(
    *,
    case: Case,
    actor: Officer,
    description: str,
    quantity: float,
    quantity_unit: str,
    photo_key: str | None = None,
    photo_sha256: str | None = None,
    now: datetime | None = None,
) -> PropertyItem:
    """Register an item seized by `actor` (who holds it until it is stored)."""
    require_officer(actor, *SEIZING_ROLES)
    require_visible(actor, case)
    if case.stage == CaseStage.CONCLUDED.value:
        raise Conflict("案件已办结,不能登记扣押财物")
    description = text.clean(description, missing="请填写财物名称及特征", limit=256, what="财物描述")
    quantity_unit = text.clean(quantity_unit, missing="请填写计量单位", limit=16, what="单位")
    try:
        quantity = float(quantity)
    except (TypeError, ValueError):
        raise InvalidInput("数量须为正数") from None
    if not 0 < quantity < 1e9:
        raise InvalidInput("数量须为正数")
    now = now or clock.now()
    item = PropertyItem(
        case_id=case.id,
        description=description,
        quantity=quantity,
        quantity_unit=quantity_unit,
        photo_key=photo_key,
        photo_sha256=photo_sha256,
        seized_by_id=actor.id,
        seized_at=now,
        state=P.SEIZED.value,
        holder_id=actor.id,
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        actor=actor,
        action="property.seized",
        subject=item,
        at=now,
        detail={"case": case.number, "description": description, "quantity": quantity, "unit": quantity_unit},
    )
    publish(Event.PROPERTY_SEIZED, item_id=item.id)
    return item


@use_case
def move(
    *,
    item: PropertyItem,
    actor: Officer,
    kind: str,
    receiver: Officer | None = None,
    recipient: str | None = None,
    return_due_at: datetime | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> PropertyMovement:
    """Record one movement of an item, given by `actor` (who must hold it) and received by `receiver` (an officer)
    or `recipient` (outside the police)."""
    require_officer(actor, *PROPERTY_ROLES)
    item = db.session.get(PropertyItem, item.id, with_for_update=True, populate_existing=True)
    require_visible(actor, item)
    chosen = MOVEMENTS.get(kind)
    if chosen is None:
        raise InvalidInput("财物流转类型无效")
    if item.holder_id != actor.id:
        raise Conflict("该财物现不由您保管,不能办理交出")
    if item.state_enum not in chosen.allowed_from:
        raise Conflict(f"财物「{item.state_enum.label}」时不能办理{chosen.label}")
    now = now or clock.now()
    if chosen.receiver_officer:
        if receiver is None:
            raise InvalidInput("请选择接收民警")
        require_officer(receiver)
        require_visible(receiver, item)
        if receiver.id == actor.id:
            raise InvalidInput("交出与接收民警不能为同一人")
        recipient = None
    else:
        recipient = text.clean(recipient, missing="请填写接收单位或接收人", limit=128, what="接收人")
        receiver = None
    _check_keepers(item, chosen, actor, receiver)
    if chosen.code == "taken_out":
        if return_due_at is None or return_due_at <= now:
            raise InvalidInput("请填写晚于现在的归还日期")
    else:
        return_due_at = None
    movement = PropertyMovement(
        item_id=item.id,
        kind=chosen.code,
        at=now,
        from_officer_id=actor.id,
        to_officer_id=receiver.id if receiver else None,
        recipient=recipient,
        return_due_at=return_due_at,
        note=(note or "").strip()[:500] or None,
    )
    db.session.add(movement)
    before = item.state
    if chosen.to_state is not None:
        item.state = chosen.to_state.value
    item.holder_id = receiver.id if receiver else None
    if chosen.to_state is P.STORED and item.stored_at is None:
        item.stored_at = now
    item.return_due_at = return_due_at
    db.session.flush()
    audit.record(
        actor=actor,
        action="property.moved",
        subject=item,
        at=now,
        detail={
            "movement_id": movement.id,
            "kind": chosen.code,
            "from_state": before,
            "to_state": item.state,
            "giver": actor.id,
            "receiver": receiver.id if receiver else None,
            "recipient": recipient,
            "return_due_at": return_due_at,
        },
    )
    publish(Event.PROPERTY_MOVED, item_id=item.id, movement_id=movement.id)
    return movement
