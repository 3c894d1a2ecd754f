"""The taxonomy file: the seven types of the reference article, 87 sub-categories, each with its own guidance,
and no article number cited that is not on the short list of numbers checked against the law as in force."""

import json
import re
from collections import Counter

import pytest

from casework.seed import CATEGORIES_FILE

TYPES = ["常见案件类", "群体性事件类", "纠纷类", "意外事件类", "求助类", "事故类", "特殊对象类"]

# The sub-categories of earlier releases: incidents in existing databases point at them, so each keeps its code
# and meaning (a code left out of the file would be deactivated on the next seed).
EARLIER = {
    "0101": "盗窃",
    "0102": "电信网络诈骗",
    "0103": "抢劫抢夺",
    "0104": "故意伤害",
    "0105": "殴打他人",
    "0106": "故意毁坏财物",
    "0201": "聚集上访",
    "0202": "聚众扰乱秩序",
    "0203": "劳资纠纷聚集",
    "0301": "邻里纠纷",
    "0302": "家庭暴力",
    "0303": "消费纠纷",
    "0304": "劳务纠纷",
    "0401": "火灾",
    "0402": "溺水",
    "0403": "非正常死亡",
    "0501": "走失人员",
    "0502": "开锁求助",
    "0503": "醉酒人员",
    "0504": "精神障碍患者求助",
    "0601": "道路交通事故",
    "0602": "生产安全事故",
    "0603": "燃气泄漏",
    "0701": "涉未成年人",
    "0702": "涉外人员",
    "0703": "涉肇事肇祸精神障碍患者",
}

CRIMINAL_LAW = "《中华人民共和国刑法》"
# Article numbers checked against the text in force. Any other number, or any number of a law not listed here,
# fails the test: cite the law alone unless the number is certain. The Public Security Administration Punishments
# Law is deliberately absent: its 2025 revision renumbered the articles from 2026-01-01.
VERIFIED_ARTICLES: dict[str, set[str]] = {
    CRIMINAL_LAW: set(
        "十七 一百一十四 一百一十五 一百二十五 一百二十八 一百三十三 一百三十三条之一 一百三十四 一百三十五条之一 "
        "一百三十六 一百三十七 一百四十三 一百七十六 一百九十二 二百三十二 二百三十四 二百三十六 二百三十七 "
        "二百三十八 二百三十九 二百四十 二百四十一 二百四十四 二百四十五 二百四十六 二百六十 二百六十一 "
        "二百六十二条之一 二百六十三 二百六十四 二百六十六 二百六十七 二百七十四 二百七十五 二百七十六条之一 "
        "二百七十七 二百九十 二百九十一 二百九十一条之二 二百九十二 二百九十三 二百九十三条之一 二百九十六 三百零三 "
        "三百四十七 三百四十八 三百五十四 三百五十八 三百五十九".split()
    ),
    "《中华人民共和国人民警察法》": {"二十一"},
    "《中华人民共和国精神卫生法》": {"二十八"},
    "《中华人民共和国反家庭暴力法》": {"十五", "十六"},
    "《中华人民共和国道路交通安全法》": {"七十", "九十一"},
}

_LAW = re.compile(r"《[^》]+》")
_ARTICLE = re.compile(r"第([零一二三四五六七八九十百千]+(?:条之[一二三四五六七八九十]+)?)条?")


def unverified_articles(reference: str) -> list[str]:
    """The article numbers a legal reference cites that are not on the verified list for its law."""
    law = _LAW.match(reference)
    if law is None:
        return [reference]  # not even a law's name in 《》
    allowed = VERIFIED_ARTICLES.get(law.group(0), set())
    return [number for number in _ARTICLE.findall(reference[law.end() :]) if number not in allowed]


def document() -> dict:
    return json.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))


def subcategories() -> list[dict]:
    return [child for major in document()["categories"] for child in major["children"]]


def test_the_seven_types_of_the_reference_article_in_order():
    majors = document()["categories"]
    assert [m["name"] for m in majors] == TYPES
    assert [m["code"] for m in majors] == [f"{n:02d}" for n in range(1, 8)]


def test_87_subcategories_with_unique_codes_and_names_under_their_type():
    children = subcategories()
    assert len(children) == 87
    codes = [c["code"] for c in children]
    assert len(set(codes)) == len(codes)
    assert not [name for name, n in Counter(c["name"] for c in children).items() if n > 1]
    for major in document()["categories"]:
        for child in major["children"]:
            assert re.fullmatch(major["code"] + r"\d\d", child["code"]), child["code"]
    assert all(len(major["children"]) >= 5 for major in document()["categories"])


def test_every_earlier_subcategory_keeps_its_code_and_name():
    names = {c["code"]: c["name"] for c in subcategories()}
    assert {code: names.get(code) for code in EARLIER} == EARLIER


@pytest.mark.parametrize("child", subcategories(), ids=lambda c: c["code"])
def test_each_subcategory_has_its_own_guide_equipment_and_legal_references(child):
    steps = re.findall(r"(?:^|;)(\d+)\. ", child["guide"])
    assert [int(s) for s in steps] == list(range(1, len(steps) + 1)) and len(steps) >= 3, child["guide"]
    assert child["guide"].endswith("。")
    for field in ("equipment", "legal_refs"):
        items = child[field]
        assert items and all(isinstance(i, str) and i.strip() == i and i for i in items), (field, items)
        assert len(set(items)) == len(items), (field, items)
    assert child.get("case_type") in (None, "criminal", "public_order")


def test_no_two_subcategories_share_a_guide():
    guides = Counter(c["guide"] for c in subcategories())
    assert max(guides.values()) == 1


@pytest.mark.parametrize("child", subcategories(), ids=lambda c: c["code"])
def test_article_numbers_are_cited_only_where_verified(child):
    assert {ref: unverified_articles(ref) for ref in child["legal_refs"] if unverified_articles(ref)} == {}


@pytest.mark.parametrize(
    ("reference", "flagged"),
    [
        ("《中华人民共和国刑法》第二百六十四条(盗窃罪)", []),
        ("《中华人民共和国刑法》第一百三十三条之一(危险驾驶罪)", []),
        ("《中华人民共和国刑法》第二百六十五条", ["二百六十五"]),
        ("《中华人民共和国治安管理处罚法》第四十三条", ["四十三"]),
        ("《中华人民共和国治安管理处罚法》关于殴打他人的规定", []),
        ("《中华人民共和国反家庭暴力法》第十五条、第十六条", []),
        ("《中华人民共和国反家庭暴力法》第十五条、第二十三条", ["二十三"]),
        ("刑法第二百六十四条", ["刑法第二百六十四条"]),
    ],
)
def test_the_article_check_catches_an_unverified_number(reference, flagged):
    assert unverified_articles(reference) == flagged
