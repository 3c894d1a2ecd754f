"""Charts drawn on the server as inline SVG: printable, readable without JavaScript, nothing from elsewhere.

`line_chart` only computes the geometry; the template draws it (and keeps the table beside it for access).
"""

from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 20, 16, 56
LABEL_CHARS = 10


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    label: str


@dataclass
class LineChart:
    """One series on a 0..`top` scale: the polylines (a gap where a value is missing), the dots, the axes."""

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    lines: list[str] = field(default_factory=list)  # SVG `points` attributes, one per unbroken run
    dots: list[Point] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)  # (y, value)
    x_labels: list[tuple[float, str, str]] = field(default_factory=list)  # (x, short label, full label)
    summary: str = ""  # the same figures in words, for a screen reader


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def line_chart(values: list[float | None], labels: list[str], *, top: int = 100, step: int = 20) -> LineChart:
    """The geometry of a line chart of `values` (None: no value for that label) over `labels`, on 0..`top`."""
    if len(values) != len(labels):
        raise ValueError("one value per label")
    chart = LineChart()
    span_x = chart.right - chart.left
    span_y = chart.bottom - chart.top

    def x_of(index: int) -> float:
        if len(labels) == 1:
            return round(chart.left + span_x / 2, 1)
        return round(chart.left + span_x * index / (len(labels) - 1), 1)

    def y_of(value: float) -> float:
        clipped = min(max(value, 0), top)
        return round(chart.bottom - span_y * clipped / top, 1)

    chart.y_ticks = [(y_of(v), v) for v in range(0, top + 1, step)]
    chart.x_labels = [(x_of(i), _short(label), label) for i, label in enumerate(labels)]
    run: list[Point] = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        if value is None:
            if len(run) > 1:
                chart.lines.append(" ".join(f"{p.x},{p.y}" for p in run))
            run = []
            continue
        point = Point(x_of(index), y_of(value), value, label)
        chart.dots.append(point)
        run.append(point)
    if len(run) > 1:
        chart.lines.append(" ".join(f"{p.x},{p.y}" for p in run))
    chart.summary = ";".join(f"{label}:{'无成绩' if v is None else v}" for v, label in zip(values, labels, strict=True))
    return chart
