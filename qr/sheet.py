"""A4 sheets of doorplate labels as PDF, written a page at a time so a long list never sits in memory."""

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageDraw

from qr import labels, links

A4_MM = (210, 297)


@dataclass(frozen=True)
class SheetLayout:
    """Where labels sit on an A4 page: a grid with margins and gaps, in millimetres."""

    label: labels.LabelSize = labels.DEFAULT_SIZE
    margin_mm: float = 8
    gap_mm: float = 3

    def _count(self, page_mm: float, label_mm: float) -> int:
        return int((page_mm - 2 * self.margin_mm + self.gap_mm) // (label_mm + self.gap_mm))

    @property
    def columns(self) -> int:
        return self._count(A4_MM[0], self.label.width_mm)

    @property
    def rows(self) -> int:
        return self._count(A4_MM[1], self.label.height_mm)

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def box(self, slot: int) -> tuple[int, int, int, int]:
        """The pixel box (left, top, right, bottom) of the label in `slot` (0-based, row by row), centred."""
        used_w = self.columns * self.label.width_mm + (self.columns - 1) * self.gap_mm
        used_h = self.rows * self.label.height_mm + (self.rows - 1) * self.gap_mm
        left_mm = (A4_MM[0] - used_w) / 2 + (slot % self.columns) * (self.label.width_mm + self.gap_mm)
        top_mm = (A4_MM[1] - used_h) / 2 + (slot // self.columns) * (self.label.height_mm + self.gap_mm)
        left, top = labels.mm(left_mm), labels.mm(top_mm)
        return left, top, left + self.label.width, top + self.label.height


DEFAULT_LAYOUT = SheetLayout()


@dataclass(frozen=True)
class LabelSpec:
    """What one label shows."""

    url: str
    address: str
    code: str


def page_size() -> tuple[int, int]:
    return labels.mm(A4_MM[0]), labels.mm(A4_MM[1])


def write(
    specs: Iterable[LabelSpec],
    out: Path | str,
    *,
    layout: SheetLayout = DEFAULT_LAYOUT,
    font: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the labels to a PDF of A4 pages at 300 dpi; return the number of pages.

    Pages are 1-bit (stored with lossless CCITT G4 compression, unlike greyscale which Pillow stores as JPEG),
    so QR edges stay sharp and a page is a few tens of kilobytes.
    """
    out = Path(out)
    pages, page, slot = 0, None, 0
    for spec in specs:
        if page is None:
            page, slot = _blank_page(layout), 0
        left, top, _, _ = layout.box(slot)
        page.paste(labels.render(spec.url, spec.address, spec.code, size=layout.label, font=font), (left, top))
        slot += 1
        if progress:
            progress(1)
        if slot == layout.per_page:
            _save(page, out, append=pages > 0)
            pages, page = pages + 1, None
    if page is not None:
        _save(page, out, append=pages > 0)
        pages += 1
    return pages


def _blank_page(layout: SheetLayout) -> Image.Image:
    page = Image.new("L", page_size(), 255)
    draw = ImageDraw.Draw(page)
    # Light cut marks at the corners of every slot, outside the labels themselves.
    for slot in range(layout.per_page):
        left, top, right, bottom = layout.box(slot)
        for x, y, dx, dy in ((left, top, -1, -1), (right, top, 1, -1), (left, bottom, -1, 1), (right, bottom, 1, 1)):
            draw.line([(x + dx * 8, y), (x + dx * 20, y)], fill=0, width=1)
            draw.line([(x, y + dy * 8), (x, y + dy * 20)], fill=0, width=1)
    return page


def _save(page: Image.Image, out: Path, *, append: bool) -> None:
    # Floyd-Steinberg would dither the anti-aliased text into noise; a plain threshold keeps glyphs clean.
    bitmap = page.point(lambda value: 255 if value >= 160 else 0).convert("1", dither=Image.Dither.NONE)
    bitmap.save(out, "PDF", resolution=labels.DPI, append=append)


def for_doorplates(plates: Iterable) -> bytes:
    """The PDF sheet of the given doorplates' labels (their landing-page QR, address and code) in the configured
    label font, as bytes."""
    font = current_app.config.get("LABEL_FONT") or None
    specs = (LabelSpec(url=links.url_for_doorplate(p), address=p.address, code=p.code) for p in plates)
    with tempfile.TemporaryDirectory(prefix="wx110-sheet-") as folder:
        out = Path(folder) / "sheet.pdf"
        write(specs, out, font=font)
        return out.read_bytes()


def import_check() -> Callable:
    """The check an import runs on each line so that every imported address can be printed (LABEL_FONT)."""
    return labels.font_check(current_app.config.get("LABEL_FONT"))
