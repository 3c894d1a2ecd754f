"""Importing the doorplate registry from a CSV: all or nothing, idempotent, errors named by line.

A CSV has a header naming the columns code, address, longitude, latitude, unit (or the Chinese 门牌编码, 地址,
经度, 纬度, 单位代码) and one doorplate per line; UTF-8 (with or without BOM) and GB 18030, which is what
spreadsheet software in China writes, are both read. Every line is checked before anything is written; any error
refuses the whole file, naming each bad line. A re-import of the same data changes nothing; a changed line
updates its doorplate and is audited with what it was before. New doorplates publish `doorplates.created`
(the mini-program codes are fetched by its subscriber).
"""

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, true

from casework import audit, clock, events
from casework.access import scope_of
from casework.db import db
from casework.doorplates import require_admin
from casework.errors import InvalidInput
from casework.events import Event
from casework.models import Actor, Doorplate, DoorplateStatus, System, Unit, UnitLevel
from casework.unit_of_work import use_case

COLUMNS = {
    "code": "code",
    "门牌编码": "code",
    "编码": "code",
    "address": "address",
    "地址": "address",
    "门牌地址": "address",
    "longitude": "longitude",
    "lon": "longitude",
    "经度": "longitude",
    "latitude": "latitude",
    "lat": "latitude",
    "纬度": "latitude",
    "unit": "unit",
    "unit_code": "unit",
    "单位代码": "unit",
    "单位": "unit",
}
REQUIRED = ("code", "address", "longitude", "latitude", "unit")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CJK = re.compile(r"[\u3400-\u9fff]")
MAX_ERRORS_SHOWN = 200
AUDIT_CODES = 1000
_CHUNK = 500


@dataclass(frozen=True)
class DoorplateRow:
    line: int
    code: str
    address: str
    longitude: float
    latitude: float
    unit_code: str


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"第{self.line}行：{self.message}"


class ImportRefused(InvalidInput):
    """The file has errors; nothing was imported."""

    code = "doorplate_import_refused"

    def __init__(self, errors: list[LineError], total: int):
        shown = errors[:MAX_ERRORS_SHOWN]
        super().__init__(
            f"门牌导入失败：{len(errors)}处错误，未导入任何数据",
            errors=[str(e) for e in shown],
            error_count=len(errors),
            lines=total,
        )
        self.errors = errors


@dataclass
class ImportResult:
    lines: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    sha256: str = ""

    def __str__(self) -> str:
        return (
            f"{self.lines}行：新增{len(self.created)}，更新{len(self.updated)}，未变{self.unchanged}"
            f"(sha256 {self.sha256[:12]})"
        )


Progress = Callable[[int], None]


def decode(data: bytes) -> str:
    """The text of an uploaded CSV: UTF-8 (BOM optional) or else GB 18030."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InvalidInput("文件编码无法识别(请使用UTF-8或GBK)") from exc


def parse(text: str) -> tuple[list[DoorplateRow], list[LineError]]:
    """Check the shape of every line (no database); return the good rows and the errors, by line number."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], [LineError(1, "文件为空")]
    except csv.Error as exc:
        return [], [LineError(1, f"CSV格式错误：{exc}")]
    names = [COLUMNS.get(h.strip().lower().lstrip("\ufeff")) for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        return [], [LineError(1, "表头缺少列:" + ", ".join(missing))]
    index = {name: names.index(name) for name in REQUIRED}
    rows, errors, seen = [], [], {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(LineError(reader.line_num, f"CSV格式错误：{exc}"))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            errors.append(LineError(line, f"应有{len(header)}列，实有{len(cells)}列"))
            continue
        row, problems = _row(line, {name: cells[i].strip() for name, i in index.items()})
        if row is not None and row.code in seen:
            problems.append(f"门牌编码 {row.code} 与第{seen[row.code]}行重复")
        if problems:
            errors.extend(LineError(line, p) for p in problems)
        else:
            seen[row.code] = line
            rows.append(row)
    return rows, errors


def _row(line: int, cell: dict[str, str]) -> tuple[DoorplateRow | None, list[str]]:
    problems = []
    code = cell["code"]
    if not CODE_PATTERN.match(code):
        problems.append(f"门牌编码「{code[:70]}」无效(字母、数字、点、横线、下划线，最长64位)")
    address = re.sub(r"\s+", " ", cell["address"])
    if not address:
        problems.append("地址为空")
    elif len(address) > 256:
        problems.append("地址过长(最多256字)")
    elif not CJK.search(address):
        problems.append("地址应为中文完整地址")
    elif any(unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs") for char in address):
        problems.append("地址含不可见的控制字符")
    longitude = _number(cell["longitude"], -180, 180, "经度", problems)
    latitude = _number(cell["latitude"], -90, 90, "纬度", problems)
    if not cell["unit"]:
        problems.append("单位代码为空")
    if problems:
        return None, problems
    return DoorplateRow(line, code, address, longitude, latitude, cell["unit"]), []


def _number(text: str, low: float, high: float, label: str, problems: list[str]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        problems.append(f"{label}「{text[:20]}」不是数字")
        return None
    if not low <= value <= high:
        problems.append(f"{label} {value} 超出范围")
        return None
    return round(value, 6)


@use_case
def import_csv(
    data: bytes,
    *,
    actor: Actor,
    progress: Progress | None = None,
    check: Iterable[Callable[[DoorplateRow], str | None]] = (),
    now: datetime | None = None,
) -> ImportResult:
    """Import a doorplate CSV all or nothing; ImportRefused lists every bad line and nothing is written.

    `progress(n)` is told after each batch of n rows (checked, then written); `check` adds per-row checks that
    return an error message or None (the label font's coverage, for one).
    """
    require_admin(actor)
    rows, errors = parse(decode(data))
    tick = progress or (lambda n: None)
    # An administrator imports for the units in their scope; any other unit answers as an unknown one.
    scope = None if isinstance(actor, System) else scope_of(actor)
    units = {u.code: u for u in db.session.scalars(select(Unit).where(scope.clause(Unit.id) if scope else true()))}
    existing: dict[str, Doorplate] = {}
    checks = list(check)
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        codes = [r.code for r in chunk]
        existing.update((d.code, d) for d in db.session.scalars(select(Doorplate).where(Doorplate.code.in_(codes))))
        for row in chunk:
            unit = units.get(row.unit_code)
            if unit is None:
                errors.append(LineError(row.line, f"单位代码 {row.unit_code} 不存在"))
            elif unit.level != UnitLevel.STATION.value:
                errors.append(LineError(row.line, f"单位 {row.unit_code}({unit.name})不是派出所"))
            held = existing.get(row.code)
            if held is not None and scope is not None and not scope.covers(held.unit_id):
                errors.append(LineError(row.line, f"门牌编码 {row.code} 属于其他单位"))
            for extra in checks:
                message = extra(row)
                if message:
                    errors.append(LineError(row.line, message))
        tick(len(chunk))
    if errors:
        raise ImportRefused(sorted(errors, key=lambda e: e.line), len(rows))
    result = ImportResult(lines=len(rows), sha256=hashlib.sha256(data).hexdigest())
    now = now or clock.now()
    for start in range(0, len(rows), _CHUNK):
        changed: dict[Event, list[Doorplate]] = {Event.DOORPLATES_CREATED: [], Event.DOORPLATES_UPDATED: []}
        for row in rows[start : start + _CHUNK]:
            change = _apply(row, existing.get(row.code), units[row.unit_code], actor, now, result)
            if change is not None:
                changed[change[0]].append(change[1])
        db.session.flush()
        for event, plates in changed.items():
            if plates:
                events.publish(event, doorplate_ids=[plate.id for plate in plates])
        tick(min(_CHUNK, len(rows) - start))
    if result.created or result.updated:
        audit.record(
            actor=actor,
            action="doorplates.imported",
            at=now,
            detail={
                "sha256": result.sha256,
                "lines": result.lines,
                "created_count": len(result.created),
                # The file's hash identifies the rest of a very large import; each update has its
                # own entry with the values before.
                "created": result.created[:AUDIT_CODES],
                "updated": result.updated[:AUDIT_CODES],
                "updated_count": len(result.updated),
                "unchanged": result.unchanged,
            },
        )
    return result


def _apply(
    row: DoorplateRow, doorplate: Doorplate | None, unit: Unit, actor: Actor, now, result: ImportResult
) -> tuple[Event, Doorplate] | None:
    values = {"address": row.address, "longitude": row.longitude, "latitude": row.latitude, "unit_id": unit.id}
    if doorplate is None:
        created = Doorplate(code=row.code, status=DoorplateStatus.ACTIVE.value, created_at=now, **values)
        db.session.add(created)
        result.created.append(row.code)
        return Event.DOORPLATES_CREATED, created
    before = {key: getattr(doorplate, key) for key in values}
    if before == values:
        result.unchanged += 1
        return None
    for key, value in values.items():
        setattr(doorplate, key, value)
    result.updated.append(row.code)
    audit.record(
        actor=actor,
        action="doorplate.updated",
        subject=doorplate,
        at=now,
        detail={"before": before, "after": values, "source": "import", "line": row.line},
    )
    return Event.DOORPLATES_UPDATED, doorplate
