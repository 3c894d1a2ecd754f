"""A small evaluation world shared by the evaluation tests: the demo units with legal officers in two counties
and the city (the organiser, from the seed), cases accepted at two stations, and a standard file."""

import io
from datetime import datetime, timedelta

from sqlalchemy import select

from casework import incidents, seed
from casework.clock import CHINA
from casework.db import db
from casework.models import Case, Category, Officer, Role, Unit
from casework.status import Channel, IncidentStatus
from casework.unit_of_work import transaction

STANDARD_CSV = (
    "编号,考评内容,涉及环节,扣分,严重程度\n"
    "SA-01,受案登记不及时或信息不全,受案,5,一般\n"
    "SA-02,未依法告知当事人权利义务,笔录,10,较重\n"
    "SA-03,涉案财物未及时入库,涉案财物,15,严重\n"
    "SA-04,强制措施审批手续不全,强制措施,20,严重\n"
)

HEADER = ["编号", "考评内容", "涉及环节", "扣分", "严重程度"]


def workbook(**named_sheets) -> bytes:
    """An XLSX file with the given sheets (title -> rows), in order."""
    import openpyxl  # only the XLSX tests need it

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in named_sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


EXTRA_OFFICERS = [("100010", "许江", "33010301", [Role.OFFICER])]  # handles 江滨派出所's cases
# The seed's legal officers the evaluation tests lean on: 江滨派出所's (an evaluator) and the city's (the organiser).
SEED_EVALUATION_OFFICERS = ("100008", "100009")


def bj(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


def add_officers() -> dict[str, Officer]:
    """The extra officers (idempotent; password as the demo's), with the seed's evaluation officers."""
    with transaction():
        for badge, name, unit_code, roles in EXTRA_OFFICERS:
            if seed.officer(badge) is None:
                unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
                found = Officer(badge_no=badge, name=name, unit=unit, roles=[r.value for r in roles])
                found.set_password(seed.DEMO_PASSWORD)
                db.session.add(found)
    return {badge: seed.officer(badge) for badge in (*SEED_EVALUATION_OFFICERS, *(b for b, *_ in EXTRA_OFFICERS))}


def accept_case(app, citizen, handler: Officer, plate: str, at: datetime, code: str = "0102") -> Case:
    """An incident at `plate` taken through to acceptance by `handler`: its case."""
    category = db.session.scalar(select(Category).where(Category.code == code))
    incident = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="被骗了,对方自称客服",
        doorplate=seed.doorplate(plate),
        category=category,
        now=at,
    )
    S = IncidentStatus
    for minutes, status in ((1, S.DISPATCHED), (5, S.ON_SCENE), (30, S.HANDLED), (60, S.ACCEPTED)):
        incidents.change_status(incident=incident, actor=handler, status=status, now=at + timedelta(minutes=minutes))
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()
    db.session.expire_all()
    return db.session.get(Case, incident.id)


def cases_at_two_stations(app, citizen, per_station: int = 3) -> list[Case]:
    """`per_station` cases at 东湖派出所 (handled by 100002) and at 江滨派出所 (handled by 100010), in Nov 2025."""
    made = []
    for n in range(per_station):
        made.append(accept_case(app, citizen, seed.officer("100002"), "DH-0001", bj(2025, 11, 3 + n, 9)))
        made.append(accept_case(app, citizen, seed.officer("100010"), "JB-0001", bj(2025, 11, 3 + n, 10)))
    return made
