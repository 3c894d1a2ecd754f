"""`flask doorplates sheet`: every label on every page of the PDF decodes, with a real decoder, to its
doorplate's URL, also after the page is scaled to 30% and saved as a low-quality JPEG."""

import io

import pypdfium2
import zxingcpp
from PIL import Image

from casework import doorplate_import, doorplates, seed
from casework.db import db
from casework.models import System
from qr import labels, links, sheet

HEADER = "code,address,longitude,latitude,unit\n"


def render_pages(path) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return [document[i].render(scale=labels.DPI / 72).to_pil().convert("L") for i in range(len(document))]
    finally:
        document.close()


def degrade(image: Image.Image) -> Image.Image:
    small = image.resize((round(image.width * 0.3), round(image.height * 0.3)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=20)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_every_label_of_a_sheet_decodes_to_its_url_also_scaled_to_30_percent_as_jpeg(app, tmp_path):
    with app.app_context():
        seed.load_world()
        extra = "".join(f"SHEET-{i:02d},示范市江滨区滨江大道{200 + i}号{i}栋,120.2,30.2,33010301\n" for i in range(13))
        doorplate_import.import_csv((HEADER + extra).encode(), actor=System("test"))
        plates = doorplates.by_code("DH-0001"), *(doorplates.by_code(f"SHEET-{i:02d}") for i in range(13))
        codes = [p.code for p in plates] + ["DH-0002", "XH-0001", "JB-0002"]
        expected = [links.url_for_doorplate(doorplates.by_code(code)) for code in codes]
        db.session.commit()
    out = tmp_path / "sheet.pdf"
    result = app.test_cli_runner().invoke(args=["doorplates", "sheet", "--out", str(out), *codes])
    assert result.exit_code == 0, result.output
    assert "17 张标签，2 页" in result.output
    pages = render_pages(out)
    layout = sheet.DEFAULT_LAYOUT
    assert len(pages) == 2 and layout.per_page == 16
    for index, url in enumerate(expected):
        page = pages[index // layout.per_page]
        crop = page.crop(layout.box(index % layout.per_page))
        assert [r.text for r in zxingcpp.read_barcodes(crop)] == [url], f"label {index} ({codes[index]})"
        assert [r.text for r in zxingcpp.read_barcodes(degrade(crop))] == [url], f"label {index} degraded"
    # The whole degraded page too: all of its labels are found, and nothing else.
    found = {r.text for page in pages for r in zxingcpp.read_barcodes(degrade(page))}
    assert found == set(expected)


def test_sheet_refuses_revoked_and_unknown_doorplates(app, tmp_path):
    with app.app_context():
        seed.load_world()
        doorplates.revoke(doorplate=doorplates.by_code("DH-0001"), actor=System("test"), reason="丢失")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["doorplates", "sheet", "--out", str(tmp_path / "a.pdf"), "DH-0001"])
    assert result.exit_code != 0 and "已停用" in result.output
    result = runner.invoke(args=["doorplates", "sheet", "--out", str(tmp_path / "b.pdf"), "NOPE-1"])
    assert result.exit_code != 0 and "不存在" in result.output
    assert not (tmp_path / "a.pdf").exists()
    result = runner.invoke(args=["doorplates", "sheet", "--out", str(tmp_path / "c.pdf"), "--unit", "33010201"])
    assert result.exit_code == 0 and "2 张标签，1 页" in result.output  # DH-0002 and DH-0003 are still active


def test_label_command_writes_a_300_dpi_png(app, tmp_path):
    with app.app_context():
        seed.load_world()
        url = links.url_for_doorplate(doorplates.by_code("XH-0002"))
    out = tmp_path / "label.png"
    result = app.test_cli_runner().invoke(args=["doorplates", "label", "XH-0002", "--out", str(out)])
    assert result.exit_code == 0, result.output
    image = Image.open(out)
    assert round(image.info["dpi"][0]) == 300
    assert zxingcpp.read_barcodes(image)[0].text == url
