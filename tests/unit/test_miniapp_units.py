"""Pure logic of the mini-program channel: rate-limit rules, request schemas, content sniffing."""

import pytest

from media.sniff import Rejected, sniff
from miniapp_api.schemas import IncidentIn, ListQuery
from server.config import RATE_LIMITS, rate_limits


def test_rate_limit_rules_override_the_defaults():
    rules = rate_limits("report=5/600, upload=1/1")
    assert rules["report"] == "5/600" and rules["upload"] == "1/1" and rules["chat"] == RATE_LIMITS["chat"]
    assert rate_limits("") == RATE_LIMITS


def test_incident_schema_reports_every_bad_field_in_chinese():
    errors = IncidentIn().validate({"description": "", "latitude": "北纬", "attachments": [0, "x"], "who": 1})
    assert errors == {
        "description": ["长度须在1到2000个字符之间"],
        "latitude": ["须为数字"],
        "attachments": {0: ["须在1到2147483647之间"], 1: ["须为整数"]},
        "who": ["不支持的字段"],
    }
    assert IncidentIn().validate({"description": "x", "latitude": True, "longitude": 1}) != {}


def test_query_integers_arrive_as_text():
    assert ListQuery().load({"limit": "5", "before_id": "9"}) == {"limit": 5, "before_id": 9}
    assert ListQuery().validate({"limit": "many"}) == {"limit": ["须为整数"]}


@pytest.mark.parametrize(
    "head, kind",
    [
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\x00\x00\x00\x20ftypisom", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/mp4"),
    ],
)
def test_sniffing_by_magic_bytes(head, kind):
    assert sniff(head).content_type == kind


def test_an_ftyp_box_with_an_unknown_brand_is_not_a_video():
    with pytest.raises(Rejected):
        sniff(b"\x00\x00\x00\x20ftypheic")  # an iPhone HEIF photo is not accepted as video
