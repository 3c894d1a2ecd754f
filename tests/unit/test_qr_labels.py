"""Doorplate labels: the QR decodes, the address is drawn in real CJK glyphs, never the .notdef box."""

import io

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw, ImageFont

from casework.errors import InvalidInput
from qr import labels

URL = "https://wx110.example.cn/d/bAAAAKkQ0dGhpcy1pcy1hLXQ"


def glyph(char: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    image = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(image).text((10, 0), char, font=font, fill=0)
    return image


def ink(image: Image.Image) -> int:
    return sum(image.histogram()[:128])


def test_vendored_font_draws_distinct_chinese_glyphs_not_tofu():
    font = ImageFont.truetype(str(labels.VENDORED_FONT), 96)
    notdef = glyph("\U0002a6a5", font)  # far outside GB 2312: the font has no glyph, so this is the .notdef box
    assert ink(notdef) > 100  # the box is drawn, so "differs from it" below means something
    seen = []
    for char in "东湖路号门牌派出所":
        image = glyph(char, font)
        assert ink(image) > 200, char
        assert ImageChops.difference(image, notdef).getbbox() is not None, f"{char} rendered as .notdef"
        seen.append(image.tobytes())
    assert len(set(seen)) == len(seen)  # tofu would make them all the same box


def test_missing_glyphs_are_found_and_refused():
    assert labels.missing_glyphs("示范市东湖区东湖路1号") == ""
    assert labels.missing_glyphs("东湖路\U0002a6a5号\U0002a6a5") == "\U0002a6a5"
    with pytest.raises(labels.MissingGlyphs) as refused:
        labels.render(URL, "东湖路\U0002a6a5号", "DH-1")
    assert "\U0002a6a5" in refused.value.message


def test_label_is_300_dpi_with_quiet_zone_and_decodes():
    image = labels.render(URL, "示范市东湖区湖滨街12号附3号楼2单元(东湖花园北门旁边)", "DH-0003")
    assert image.size == (labels.mm(45), labels.mm(66))
    decoded = zxingcpp.read_barcodes(image)
    assert [r.text for r in decoded] == [URL]
    position = decoded[0].position
    quiet = min(position.top_left.x, position.top_left.y, image.width - position.top_right.x)
    modules = len(labels.qr_matrix(URL))
    module_px = (position.top_right.x - position.top_left.x) / (modules - 1)
    assert quiet >= 4 * module_px - 2  # at least the four-module quiet zone
    png = labels.png(image)
    assert Image.open(io.BytesIO(png)).info["dpi"] == pytest.approx((300, 300), abs=0.5)


def test_long_address_shrinks_then_refuses():
    long_address = "示范市东湖区" + "湖滨街" * 12 + "12号"
    image = labels.render(URL, long_address, "DH-9")
    assert zxingcpp.read_barcodes(image)[0].text == URL
    with pytest.raises(InvalidInput):
        labels.render(URL, "东湖路" * 90, "DH-9")


def test_wrap_keeps_latin_runs_whole():
    font = ImageFont.truetype(str(labels.VENDORED_FONT), 40)
    lines = labels._wrap("东湖路A座1201室" * 4, 300, font)
    assert all(font.getlength(line) <= 300 for line in lines)
    assert not any(line.startswith(("201", "01")) for line in lines)
    assert "".join(lines).replace(" ", "") == ("东湖路A座1201室" * 4)


def test_label_font_can_be_a_face_of_a_collection(tmp_path):
    from fontTools.ttLib import TTCollection, TTFont

    collection = TTCollection()
    collection.fonts = [TTFont(str(labels.VENDORED_FONT)), TTFont(str(labels.VENDORED_FONT))]
    path = tmp_path / "two.ttc"
    collection.save(str(path))
    assert labels.font_source(f"{path}#1") == labels.FontSource(path, 1)
    image = labels.render(URL, "示范市东湖区东湖路1号", "DH-1", font=f"{path}#1")
    assert zxingcpp.read_barcodes(image)[0].text == URL
