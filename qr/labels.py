"""Doorplate labels: the QR code with the address in Chinese beneath it, sized for print at 300 dpi.

The QR is drawn one pixel per module and scaled up by a whole number, so every module is a crisp square of the
same size; the quiet zone is the four modules the QR standard asks for. The address is set in the vendored
WX110 Sans SC (a GB 2312 subset of Noto Sans CJK SC) unless LABEL_FONT names another font; an address with a
character the font lacks is refused rather than printed as an empty box.
"""

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import qrcode
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_Q

from casework.errors import InvalidInput
from qr import texts

DPI = 300
VENDORED_FONT = Path(__file__).with_name("fonts") / "wx110-sans-sc.otf"
QUIET_MODULES = 4


def mm(length: float) -> int:
    """Millimetres to pixels at 300 dpi."""
    return round(length / 25.4 * DPI)


@dataclass(frozen=True)
class LabelSize:
    """The printed size of a label; the QR takes the width less the side margins."""

    width_mm: float = 45
    height_mm: float = 66
    margin_mm: float = 2.5
    text_pt: float = 9
    min_text_pt: float = 6

    @property
    def width(self) -> int:
        return mm(self.width_mm)

    @property
    def height(self) -> int:
        return mm(self.height_mm)


DEFAULT_SIZE = LabelSize()


class MissingGlyphs(InvalidInput):
    code = "missing_glyphs"


@dataclass(frozen=True)
class FontSource:
    """A font file and, for a collection (.ttc), which face in it."""

    path: Path
    index: int = 0


@cache
def _covered(source: FontSource) -> frozenset[int]:
    return frozenset(TTFont(str(source.path), lazy=True, fontNumber=source.index).getBestCmap())


@cache
def _font(source: FontSource, pixels: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(source.path), pixels, index=source.index)


def font_source(configured: str | None = None) -> FontSource:
    """The label font: LABEL_FONT ("file" or "collection.ttc#face-index") if set, else the vendored one."""
    if not configured:
        return FontSource(VENDORED_FONT)
    path, _, index = configured.partition("#")
    return FontSource(Path(path), int(index or 0))


def missing_glyphs(text: str, configured: str | None = None) -> str:
    """The characters of `text` that the label font cannot draw (whitespace aside), in order, once each."""
    covered = _covered(font_source(configured))
    seen = []
    for char in text:
        if not char.isspace() and ord(char) not in covered and char not in seen:
            seen.append(char)
    return "".join(seen)


def font_check(configured: str | None = None):
    """An import check (`casework.doorplate_import.import_csv(check=...)`): a line whose address the label font
    cannot print is an error of that line."""

    def check(row) -> str | None:
        missing = missing_glyphs(row.address, configured)
        return f"地址含标签字体没有的字「{missing}」(可设置 LABEL_FONT)" if missing else None

    return check


def qr_matrix(url: str) -> list[list[bool]]:
    """The modules of the QR code for `url` (quality level Q: a label may be scuffed or partly covered)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


def qr_image(url: str, module_px: int, matrix: list[list[bool]] | None = None) -> Image.Image:
    """The QR code with its quiet zone, `module_px` pixels per module, black on white, mode "L"."""
    matrix = matrix or qr_matrix(url)
    side = len(matrix) + 2 * QUIET_MODULES
    pad = bytes([255]) * QUIET_MODULES
    rows = [bytes([255]) * side] * QUIET_MODULES
    for row in matrix:
        rows.append(pad + bytes(0 if dark else 255 for dark in row) + pad)
    rows += [bytes([255]) * side] * QUIET_MODULES
    small = Image.frombytes("L", (side, side), b"".join(rows))
    return small.resize((side * module_px, side * module_px), Image.Resampling.NEAREST)


def render(
    url: str, address: str, code: str, *, size: LabelSize = DEFAULT_SIZE, font: str | None = None
) -> Image.Image:
    """One label as a greyscale image at 300 dpi: QR on top, the address and the doorplate code beneath."""
    missing = missing_glyphs(address + texts.LABEL_FOOTER.format(code=code), font)
    if missing:
        raise MissingGlyphs(texts.MISSING_GLYPHS.format(code=code, chars=missing))
    source = font_source(font)
    label = Image.new("L", (size.width, size.height), 255)
    margin = mm(size.margin_mm)
    inner = size.width - 2 * margin
    matrix = qr_matrix(url)
    module_px = max(1, inner // (len(matrix) + 2 * QUIET_MODULES))
    qr = qr_image(url, module_px, matrix)
    label.paste(qr, ((size.width - qr.width) // 2, margin))
    draw = ImageDraw.Draw(label)
    top = margin + qr.height
    code_font = _font(source, _pt(size.min_text_pt))
    code_height = _line_height(code_font)
    room = size.height - margin - top - code_height
    lines, text_font = _fit(address, inner, room, size, source)
    line_height = _line_height(text_font)
    y = top
    for line in lines:
        width = draw.textlength(line, font=text_font)
        draw.text(((size.width - width) / 2, y), line, font=text_font, fill=0)
        y += line_height
    footer = texts.LABEL_FOOTER.format(code=code)
    width = draw.textlength(footer, font=code_font)
    draw.text(((size.width - width) / 2, size.height - margin - code_height), footer, font=code_font, fill=64)
    return label


def png(image: Image.Image) -> bytes:
    """A label as PNG bytes that carry the 300 dpi resolution."""
    buffer = io.BytesIO()
    # Level 1 compresses a black-and-white label nearly as well as the default, in a quarter of the time.
    image.save(buffer, "PNG", dpi=(DPI, DPI), compress_level=1)
    return buffer.getvalue()


def _pt(points: float) -> int:
    return round(points / 72 * DPI)


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return round((ascent + descent) * 1.1)


def _fit(text: str, width: int, height: int, size: LabelSize, source: FontSource):
    """The largest text size from `text_pt` down to `min_text_pt` at which the wrapped address fits."""
    points = size.text_pt
    while True:
        font = _font(source, _pt(points))
        lines = _wrap(text, width, font)
        if len(lines) * _line_height(font) <= height or points <= size.min_text_pt:
            if len(lines) * _line_height(font) > height:
                raise InvalidInput(texts.ADDRESS_TOO_LONG)
            return lines, font
        points = max(size.min_text_pt, points - 0.5)


def _wrap(text: str, width: int, font: ImageFont.FreeTypeFont) -> list[str]:
    """Break between any two characters (Chinese has no spaces), keeping runs of Latin letters and digits whole."""
    tokens, run = [], ""
    for char in text:
        if char.isascii() and char.isalnum():
            run += char
            continue
        if run:
            tokens.append(run)
            run = ""
        tokens.append(char)
    if run:
        tokens.append(run)
    lines, line = [], ""
    for token in tokens:
        if line and font.getlength(line + token) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines
