"""Every internal code an officer's page can show has its words in `casework.words`, and the words are Chinese: the
codes are read from the enums and tables that define them and from the domain's source where timeline steps and
routing reasons are written, so a new kind without words fails here."""

import re
from pathlib import Path

import pytest

from casework import case_materials, measures, words
from casework.models import AttachmentKind, AttachmentState, MeasureState
from casework.status import IncidentStatus
from supervision import points
from supervision.models import Colour

ROOT = Path(__file__).resolve().parents[2]
ASCII_WORD = re.compile(r"[A-Za-z]{2,}")


def timeline_kinds_in_the_source() -> set[str]:
    """The kinds the domain writes into timeline entries: `kind="..."` of a TimelineEntry, and the kind argument of
    the incident and dispatch helpers that write one."""
    found: set[str] = set()
    for path in (ROOT / "casework").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for block in re.findall(r"TimelineEntry\((.*?)\n\s*\)", source, re.DOTALL):
            found |= set(re.findall(r'kind="(\w+)"', block))
        found |= set(re.findall(r'_timeline\(\s*\w+,\s*\w+,\s*"(\w+)"', source))
        found |= set(re.findall(r'_internal\(\w+, \w+, "(\w+)"', source))
    return found


def routing_reasons_in_the_source() -> set[str]:
    source = (ROOT / "casework" / "routing.py").read_text(encoding="utf-8")
    reasons = set(re.findall(r'return [\w.]+(?:\.unit)?, "(\w+)"', source))
    return reasons | set(re.findall(r'^DISPATCH_CENTRE = "(\w+)"', source, re.MULTILINE))


CODES = {
    "status": {s.value for s in IncidentStatus},
    "attachment_kind": {k.value for k in AttachmentKind},
    "attachment_state": {s.value for s in AttachmentState},
    "measure_kind": set(measures.KINDS),
    "measure_state": {s.value for s in MeasureState},
    "material_kind": set(case_materials.KINDS),
    "colour": {c.value for c in Colour},
    # every parameter a monitoring point has (its category key is not shown)
    "point_parameter": {key for _, _, _, parameters, _, _ in points.DEFAULTS for key in parameters} - {"category_key"},
}


def test_the_source_scan_finds_the_kinds_it_should():
    timeline = timeline_kinds_in_the_source()
    assert {"reported", "status", "case_cause", "rerouted", "assigned", "note"} <= timeline
    assert routing_reasons_in_the_source() == {"doorplate", "nearest_doorplate", "dispatch_centre"}


@pytest.mark.parametrize("table", sorted(words.TABLES))
def test_every_code_of_every_table_has_chinese_words(table):
    codes = (
        CODES.get(table)
        or {
            "timeline": timeline_kinds_in_the_source(),
            "routing": routing_reasons_in_the_source(),
        }[table]
    )
    unmapped = sorted(code for code in codes if code not in words.TABLES[table])
    assert not unmapped, f"no words in casework/words.py for {table}: {unmapped}"
    for code in codes:
        shown = words.word(table, code)
        assert shown and not ASCII_WORD.search(shown), (table, code, shown)


def test_an_unknown_code_is_shown_as_it_is_and_none_as_nothing():
    assert words.word("timeline", "brand_new_kind") == "brand_new_kind"  # visible, and caught by the test above
    assert words.word("timeline", None) == ""
