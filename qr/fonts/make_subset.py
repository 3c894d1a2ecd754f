"""Rebuild the vendored label font: Noto Sans CJK SC cut down to GB 2312 plus ASCII and CJK punctuation.

Usage: python -m qr.fonts.make_subset NotoSansCJK-Regular.ttc qr/fonts/wx110-sans-sc.otf
The source is Debian's fonts-noto-cjk (SIL Open Font License 1.1); the subset is renamed, as the licence asks
of a modified version.
"""

import sys

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

FAMILY = "WX110 Sans SC"


def gb2312_characters() -> set[str]:
    """Every character of GB 2312 (6,763 hanzi and 682 symbols)."""
    chars = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def wanted() -> set[str]:
    chars = gb2312_characters()
    chars.update(chr(c) for c in range(0x20, 0x7F))
    chars.update(chr(c) for c in range(0x3000, 0x3040))  # CJK symbols and punctuation
    chars.update(chr(c) for c in range(0xFF01, 0xFF5F))  # full-width forms
    chars.update(chr(c) for c in range(0x2010, 0x2030))  # dashes, quotes, ellipsis
    chars.update("·—×÷°№")
    return chars


def source_face(path: str) -> TTFont:
    if path.lower().endswith((".ttc", ".otc")):
        for face in TTCollection(path).fonts:
            if face["name"].getDebugName(1) == "Noto Sans CJK SC":
                return face
        raise SystemExit("no Noto Sans CJK SC face in " + path)
    return TTFont(path)


def main(source: str, target: str) -> None:
    font = source_face(source)
    options = subset.Options()
    # The default layout features are enough for horizontal Simplified Chinese; "*" would pull in the
    # Japanese/Korean/Traditional alternates (locl) and vertical forms and double the size.
    options.layout_features = [f for f in options.layout_features if f not in ("locl", "vert", "vrt2", "vkrn")]
    options.name_IDs = ["*"]
    options.notdef_outline = True  # keep the .notdef box so a missing glyph is visible, not blank
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in wanted()])
    subsetter.subset(font)
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 3, 4, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName(FAMILY.replace(" ", "") + "-Regular", 6, record.platformID, record.platEncID, record.langID)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [FAMILY.replace(" ", "") + "-Regular"]
    font.save(target)


if __name__ == "__main__":
    main(*sys.argv[1:3])
