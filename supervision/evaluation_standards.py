"""Evaluation standards (考评标准): imported from a CSV or XLSX file, all or nothing with errors named by line
(like the doorplate import), and edited by administrators; every import or edit makes a new version, and a plan
keeps the version it was made with.

The file has a header naming the columns code, text, concerns, points, severity (or the Chinese 编号, 考评内容,
涉及环节, 扣分, 严重程度) and one criterion per line. In an XLSX file every sheet whose header (within its first
lines) names these columns is read, and the others (notes, a cover) are left alone; errors name the sheet and line.
Severity is 一般 / 较重 / 严重 (or minor / major / serious).
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from casework import audit, clock
from casework.access import require_officer
from casework.db import db
from casework.doorplate_import import LineError, decode
from casework.errors import InvalidInput, NotFound
from casework.events import Event, publish
from casework.models import Officer, Role
from casework.text import clean
from casework.unit_of_work import use_case
from supervision.evaluation_models import EvaluationCriterion, EvaluationStandard, Severity

COLUMNS = {
    "code": "code",
    "编号": "code",
    "代码": "code",
    "text": "text",
    "考评内容": "text",
    "内容": "text",
    "concerns": "concerns",
    "涉及环节": "concerns",
    "环节": "concerns",
    "points": "points",
    "扣分": "points",
    "分值": "points",
    "severity": "severity",
    "严重程度": "severity",
    "等级": "severity",
}
REQUIRED = ("code", "text", "concerns", "points", "severity")
SEVERITIES = {s.label: s.value for s in Severity} | {s.value: s.value for s in Severity}
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MAX_POINTS = 100
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class CriterionRow:
    line: int
    code: str
    text: str
    concerns: str
    points: int
    severity: str


class StandardRefused(InvalidInput):
    """The file has errors; nothing was imported."""

    code = "evaluation_standard_refused"

    def __init__(self, errors: list[LineError]):
        super().__init__(
            f"考评标准导入失败：{len(errors)}处错误，未导入任何数据", errors=[str(e) for e in errors[:200]]
        )
        self.errors = errors


@dataclass(frozen=True)
class SheetLineError(LineError):
    """An error on a line of a named XLSX sheet."""

    sheet: str = ""

    def __str__(self) -> str:
        return f"工作表「{self.sheet}」第{self.line}行：{self.message}"


@dataclass(frozen=True)
class Sheet:
    """The cells of one table of an upload, line by line: a CSV (no name) or one XLSX worksheet."""

    name: str | None
    rows: list[list[str]]

    def error(self, line: int, message: str) -> LineError:
        return LineError(line, message) if self.name is None else SheetLineError(line, message, self.name)


HEADER_SEARCH = 10  # an XLSX sheet's header may sit under a title: the first lines are searched for it
HEADER_MIN = 2  # a sheet whose header names fewer known columns is not a criteria sheet (notes, a cover)


def sheets(data: bytes, filename: str = "") -> list[Sheet]:
    """The tables of an uploaded CSV (UTF-8 or GB 18030) or XLSX (every worksheet, in the workbook's order)."""
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        import openpyxl  # only an XLSX upload needs it

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput("XLSX文件无法读取") from exc
        try:
            return [
                Sheet(
                    sheet.title,
                    [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)],
                )
                for sheet in book.worksheets
            ]
        finally:
            book.close()
    try:
        return [Sheet(None, list(csv.reader(io.StringIO(decode(data)))))]
    except csv.Error as exc:
        raise StandardRefused([LineError(1, f"CSV格式错误：{exc}")]) from exc


def table(data: bytes, filename: str = "") -> list[list[str]]:
    """The cells of an upload's first table (a CSV, or an XLSX's first sheet), line by line."""
    return sheets(data, filename)[0].rows


def _columns(cells: list[str]) -> list[str | None]:
    return [COLUMNS.get(str(h).strip().lower().lstrip("\ufeff")) for h in cells]


def _header(sheet: Sheet) -> tuple[int, list[str | None]] | None:
    """The line of the sheet's header (1-based) and its column names: the first line naming the most known
    columns among the first lines; None when no line names enough of them."""
    best = None
    for line, cells in enumerate(sheet.rows[:HEADER_SEARCH], start=1):
        names = _columns(cells)
        known = len({n for n in names if n})
        if known >= HEADER_MIN and (best is None or known > best[0]):
            best = (known, line, names)
        if known == len(REQUIRED):
            break
    return None if best is None else (best[1], best[2])


def parse_sheets(tables: list[Sheet]) -> tuple[list[CriterionRow], list[LineError]]:
    """Check every line of every criteria sheet (no database): a CSV is one; an XLSX sheet is one when its header
    names the columns (other sheets, such as notes, are left alone). The good rows and the errors, by sheet and
    line."""
    if len(tables) == 1 and tables[0].name is None:
        return parse(tables[0].rows)
    good, errors, seen = [], [], {}
    found = 0
    for sheet in tables:
        header = _header(sheet)
        if header is None:
            continue
        found += 1
        rows, problems = _parse_from(sheet, *header, seen=seen)
        good += rows
        errors += problems
    if not found:
        names = "、".join(f"「{t.name}」" for t in tables)
        wanted = "编号, 考评内容, 涉及环节, 扣分, 严重程度"
        return [], [LineError(1, f"没有找到表头含有「{wanted}」的工作表(已查看 {names})")]
    if not good and not errors:
        errors.append(LineError(2, "没有任何考评项"))
    return good, errors


def parse(rows: list[list[str]]) -> tuple[list[CriterionRow], list[LineError]]:
    """Check every line of one table (no database); the good rows and the errors by line number (the header is
    line 1)."""
    if not rows:
        return [], [LineError(1, "文件为空")]
    good, errors = _parse_from(Sheet(None, rows), 1, _columns(rows[0]), seen={})
    if not good and not errors:
        errors.append(LineError(2, "没有任何考评项"))
    return good, errors


def _parse_from(
    sheet: Sheet, header_line: int, names: list[str | None], *, seen: dict
) -> tuple[list[CriterionRow], list[LineError]]:
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        return [], [sheet.error(header_line, "表头缺少列:" + ", ".join(missing))]
    index = {name: names.index(name) for name in REQUIRED}
    good, errors = [], []
    for line, cells in enumerate(sheet.rows[header_line:], start=header_line + 1):
        if not any(str(c).strip() for c in cells):
            continue
        cell = {name: (str(cells[i]).strip() if i < len(cells) else "") for name, i in index.items()}
        row, problems = _row(line, cell)
        if row is not None and row.code in seen:
            where_sheet, where_line = seen[row.code]
            where = f"第{where_line}行" if where_sheet == sheet.name else f"工作表「{where_sheet}」第{where_line}行"
            problems.append(f"编号 {row.code} 与{where}重复")
        if problems:
            errors.extend(sheet.error(line, p) for p in problems)
        else:
            seen[row.code] = (sheet.name, line)
            good.append(row)
    return good, errors


def _row(line: int, cell: dict[str, str]) -> tuple[CriterionRow | None, list[str]]:
    problems = []
    if not CODE_PATTERN.match(cell["code"]):
        problems.append(f"编号「{cell['code'][:40]}」无效(字母、数字、点、横线,最长32位)")
    if not cell["text"]:
        problems.append("考评内容为空")
    elif len(cell["text"]) > 1000:
        problems.append("考评内容过长(最多1000字)")
    if not cell["concerns"]:
        problems.append("涉及环节为空")
    elif len(cell["concerns"]) > 64:
        problems.append("涉及环节过长(最多64字)")
    points = None
    text = cell["points"].removesuffix(".0")
    if not text.isdigit() or not 0 < int(text) <= MAX_POINTS:
        problems.append(f"扣分「{cell['points'][:20]}」应为1到{MAX_POINTS}的整数")
    else:
        points = int(text)
    severity = SEVERITIES.get(cell["severity"].lower())
    if severity is None:
        problems.append(f"严重程度「{cell['severity'][:20]}」应为一般、较重或严重")
    if problems:
        return None, problems
    return CriterionRow(line, cell["code"], cell["text"], cell["concerns"], points, severity), []


def versions(name: str) -> list[EvaluationStandard]:
    return list(
        db.session.scalars(
            select(EvaluationStandard).where(EvaluationStandard.name == name).order_by(EvaluationStandard.version)
        )
    )


def all_standards() -> list[EvaluationStandard]:
    """Every version of every standard, newest first."""
    return list(
        db.session.scalars(
            select(EvaluationStandard).order_by(EvaluationStandard.name, EvaluationStandard.version.desc())
        )
    )


def standard(standard_id: int) -> EvaluationStandard:
    found = db.session.get(EvaluationStandard, standard_id)
    if found is None:
        raise NotFound("未找到该考评标准")
    return found


def _new_version(name: str, rows, *, actor: Officer, source: str, sha256: str, now: datetime) -> EvaluationStandard:
    version = (
        db.session.scalar(select(func.max(EvaluationStandard.version)).where(EvaluationStandard.name == name)) or 0
    ) + 1
    made = EvaluationStandard(
        name=name, version=version, source=source, sha256=sha256, created_at=now, created_by_id=actor.id
    )
    db.session.add(made)
    db.session.flush()
    for position, row in enumerate(rows):
        db.session.add(
            EvaluationCriterion(
                standard_id=made.id,
                position=position,
                code=row.code,
                text=row.text,
                concerns=row.concerns,
                points=row.points,
                severity=row.severity,
            )
        )
    db.session.flush()
    return made


@use_case
def import_file(
    data: bytes, *, actor: Officer, name: str, filename: str = "", now: datetime | None = None
) -> EvaluationStandard:
    """Import a standard file as the next version of `name`: every line checked first, all or nothing."""
    require_officer(actor, Role.ADMIN)
    name = clean(name, missing="请填写标准名称", limit=128, what="标准名称")
    now = now or clock.now()
    rows, errors = parse_sheets(sheets(data, filename))
    if errors:
        raise StandardRefused(errors)
    sha = hashlib.sha256(data).hexdigest()
    made = _new_version(name, rows, actor=actor, source=filename[:256], sha256=sha, now=now)
    audit.record(
        actor=actor,
        action="evaluation.standard_imported",
        subject=made,
        at=now,
        detail={"name": name, "version": made.version, "criteria": len(rows), "sha256": sha, "file": filename},
    )
    publish(Event.EVALUATION_STANDARD_CHANGED, standard_id=made.id)
    return made


@use_case
def edit_criterion(
    *,
    actor: Officer,
    standard_id: int,
    code: str,
    text: str,
    concerns: str,
    points: str,
    severity: str,
    now: datetime | None = None,
) -> EvaluationStandard:
    """Change (or add) one criterion: the next version of the standard, with the others copied as they were."""
    require_officer(actor, Role.ADMIN)
    now = now or clock.now()
    base = standard(standard_id)
    row, problems = _row(
        0,
        {
            "code": code.strip(),
            "text": text.strip(),
            "concerns": concerns.strip(),
            "points": str(points).strip(),
            "severity": severity.strip(),
        },
    )
    if problems:
        raise InvalidInput(";".join(problems))
    rows = [c for c in base.criteria if c.code != row.code]
    before = next((c for c in base.criteria if c.code == row.code), None)
    position = next((i for i, c in enumerate(base.criteria) if c.code == row.code), len(base.criteria))
    merged = [CriterionRow(0, c.code, c.text, c.concerns, c.points, c.severity) for c in rows]
    merged.insert(position, row)
    made = _new_version(base.name, merged, actor=actor, source=f"edit of v{base.version}", sha256="", now=now)
    audit.record(
        actor=actor,
        action="evaluation.standard_edited",
        subject=made,
        at=now,
        detail={
            "name": base.name,
            "from_version": base.version,
            "version": made.version,
            "code": row.code,
            "before": None if before is None else {"text": before.text, "points": before.points},
            "after": {"text": row.text, "points": row.points, "severity": row.severity},
        },
    )
    publish(Event.EVALUATION_STANDARD_CHANGED, standard_id=made.id)
    return made
