"""Parsing a doorplate CSV: every bad line is named by its number (no database)."""

from casework.doorplate_import import decode, parse

HEADER = "code,address,longitude,latitude,unit\n"


def test_good_file_parses_with_chinese_header_and_bom():
    text = "\ufeff门牌编码,地址,经度,纬度,单位代码\nDH-1, 示范市东湖区东湖路1号 ,120.1551,30.2741,33010201\n\n"
    rows, errors = parse(text)
    assert errors == []
    assert rows[0].code == "DH-1" and rows[0].address == "示范市东湖区东湖路1号" and rows[0].line == 2


def test_every_bad_line_is_reported_with_its_number():
    text = (
        HEADER
        + "\n".join(
            [
                "DH-1,示范市东湖区东湖路1号,120.1,30.2,33010201",
                "DH 2,示范市东湖区东湖路2号,120.1,30.2,33010201",
                "DH-3,,120.1,30.2,33010201",
                "DH-4,Main Street 4,120.1,30.2,33010201",
                "DH-5,示范市东湖区东湖路5号,east,30.2,33010201",
                "DH-6,示范市东湖区东湖路6号,120.1,91,33010201",
                "DH-1,示范市东湖区东湖路1号,120.1,30.2,33010201",
                "DH-8,示范市东湖区东湖路8号,120.1",
                "DH-9,示范市东湖区东湖路9号,120.1,30.2,",
            ]
        )
        + "\n"
    )
    rows, errors = parse(text)
    assert [r.code for r in rows] == ["DH-1"]
    by_line = {e.line: e.message for e in errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "门牌编码" in by_line[3] and "地址为空" in by_line[4] and "中文" in by_line[5]
    assert "经度" in by_line[6] and "纬度" in by_line[7] and "第2行重复" in by_line[8]
    assert "列" in by_line[9] and "单位代码" in by_line[10]
    assert str(errors[0]).startswith("第3行：")


def test_missing_columns_and_empty_file():
    assert parse("")[1][0].message == "文件为空"
    assert "latitude" in parse("code,address,longitude,unit\n")[1][0].message


def test_gbk_file_is_read():
    data = (HEADER + "DH-1,示范市东湖区东湖路1号,120.1,30.2,33010201\n").encode("gbk")
    rows, errors = parse(decode(data))
    assert errors == [] and rows[0].address == "示范市东湖区东湖路1号"


def test_hostile_cells_are_errors_not_crashes():
    rows, errors = parse(
        HEADER + "DH-1,示范市东湖区\x00东湖路1号,120.1,30.2,33010201\n"
        "DH-2,示范市东湖区\u202e东湖路2号,nan,inf,33010201\n"
        'DH-3,"' + "x" * 200_000 + '",120.1,30.2,33010201\n'
    )
    assert rows == []
    messages = {(e.line, e.message) for e in errors}
    assert (2, "地址含不可见的控制字符") in messages and (3, "地址含不可见的控制字符") in messages
    assert any(line == 3 and "经度" in m for line, m in messages) and any(line == 4 for line, _ in messages)
