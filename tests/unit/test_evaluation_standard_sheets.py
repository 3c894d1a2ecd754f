"""Reading a standard from an XLSX workbook (no database): every sheet whose header names the columns is read,
wherever the header sits in its first lines; other sheets (notes) are left alone; errors name the sheet and the
line as the spreadsheet numbers it; one bad line anywhere refuses the whole file."""

import pytest

from supervision.evaluation_standards import parse_sheets, sheets
from tests.evaluation_steps import HEADER, workbook


def read(data: bytes):
    return parse_sheets(sheets(data, "standard.xlsx"))


def test_the_criteria_sheet_is_found_behind_a_notes_sheet_and_under_a_title_line():
    data = workbook(
        说明=[["本表为执法质量考评标准"], ["填写说明:每行一个考评项"]],
        考评标准=[["2026年执法质量考评标准"], [], HEADER, ["SA-01", "受案登记不全", "受案", 5, "一般"]],
    )
    rows, errors = read(data)
    assert errors == [] and [(r.code, r.line, r.points) for r in rows] == [("SA-01", 4, 5)]


def test_every_sheet_with_the_header_is_read_in_order():
    data = workbook(
        刑事=[HEADER, ["XS-01", "立案审查超期", "立案", 10, "较重"]],
        治安=[HEADER, ["ZA-01", "未告知权利义务", "笔录", 10, "较重"], ["ZA-02", "财物未入库", "涉案财物", 15, "严重"]],
    )
    rows, errors = read(data)
    assert errors == [] and [r.code for r in rows] == ["XS-01", "ZA-01", "ZA-02"]


def test_a_bad_line_on_any_sheet_refuses_the_whole_file_naming_sheet_and_line():
    data = workbook(
        刑事=[HEADER, ["XS-01", "立案审查超期", "立案", 10, "较重"]],
        治安=[
            ["治安案件"],
            HEADER,
            ["ZA-01", "未告知", "笔录", "十", "较重"],
            ["XS-01", "重复编号", "笔录", 5, "一般"],
        ],
    )
    _, errors = read(data)
    assert [str(e) for e in errors] == [
        "工作表「治安」第3行：扣分「十」应为1到100的整数",
        "工作表「治安」第4行：编号 XS-01 与工作表「刑事」第2行重复",
    ]


def test_a_sheet_with_part_of_the_header_is_an_error_and_no_criteria_sheet_names_what_was_seen():
    _, errors = read(workbook(标准=[["编号", "考评内容", "扣分"], ["SA-01", "x", 5]]))
    assert [str(e) for e in errors] == ["工作表「标准」第1行：表头缺少列:concerns, severity"]
    _, errors = read(workbook(封面=[["考评标准"]], 备注=[["无"]]))
    assert len(errors) == 1 and "「封面」、「备注」" in str(errors[0])


@pytest.mark.parametrize("rows", [[HEADER], [HEADER, [], []]])
def test_a_header_without_criteria_is_refused(rows):
    _, errors = read(workbook(标准=rows))
    assert [str(e) for e in errors] == ["第2行：没有任何考评项"]
