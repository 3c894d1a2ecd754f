"""Doorplate labels per second, against bare `qrcode` + Pillow rendering of the same URLs in the same run.

The baseline makes each URL's QR with `qrcode.make` (Pillow image factory) and encodes it as PNG. A label does
more: the QR at 300 dpi, the address wrapped and set in the CJK font, the footer, and a PNG that carries its
dpi; the sheet figure adds pasting 16 labels to an A4 page and the page's CCITT-compressed PDF write.
Rounds alternate between the contenders so that machine noise falls on both; the median round counts.

    python -m benchmarks.labels [--count 150] [--rounds 5]
"""

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import qrcode
from qrcode.image.pil import PilImage

from qr import labels, sheet

STREETS = ["东湖路", "湖滨街", "西湖路", "滨江大道", "解放北路", "人民南路", "建设三路"]


def specs(count: int) -> list[sheet.LabelSpec]:
    return [
        sheet.LabelSpec(
            url=f"https://wx110.example.cn/d/b{i:06d}AbCdEfGhIjKlMnOp",
            address=f"示范市东湖区{STREETS[i % len(STREETS)]}{i % 300 + 1}号{i % 9 + 1}幢{i % 4 + 1}单元",
            code=f"DH-{i:05d}",
        )
        for i in range(count)
    ]


def baseline(items: list[sheet.LabelSpec]) -> None:
    for item in items:
        buffer = io.BytesIO()
        qrcode.make(item.url, image_factory=PilImage).save(buffer, format="PNG")


def label_pngs(items: list[sheet.LabelSpec]) -> None:
    for item in items:
        labels.png(labels.render(item.url, item.address, item.code))


def sheet_pdf(items: list[sheet.LabelSpec]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        sheet.write(items, Path(folder) / "sheet.pdf")


def rate(action, items) -> float:
    started = time.perf_counter()
    action(items)
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = specs(args.count)
    label_pngs(items[:5])  # load the font and warm caches outside the clock
    baseline(items[:5])
    results = {"qrcode+Pillow PNG (baseline)": [], "label PNG": [], "label on A4 PDF sheet": []}
    for _ in range(args.rounds):
        results["qrcode+Pillow PNG (baseline)"].append(rate(baseline, items))
        results["label PNG"].append(rate(label_pngs, items))
        results["label on A4 PDF sheet"].append(rate(sheet_pdf, items))
    base = statistics.median(results["qrcode+Pillow PNG (baseline)"])
    print(f"{args.count} doorplates x {args.rounds} rounds (median round)")
    for name, rates in results.items():
        median = statistics.median(rates)
        print(f"  {name:30s} {median:8.1f} per second   ratio to baseline {median / base:5.2f}")


if __name__ == "__main__":
    main()
