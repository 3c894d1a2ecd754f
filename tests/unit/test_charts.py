"""The trend chart's geometry (no I/O): values on a 0..100 scale, a gap where a plan has no value, one label per
plan, the figures repeated in words for a screen reader."""

import pytest

from console.charts import line_chart


def test_values_are_placed_on_the_scale_and_a_missing_value_breaks_the_line():
    chart = line_chart([80.0, 90.0, None, 50.0, 60.0], ["一", "二", "三", "四", "五"])
    xs = [x for x, _, _ in chart.x_labels]
    assert xs[0] == chart.left and xs[-1] == chart.right and xs == sorted(xs)
    by_value = {p.value: p for p in chart.dots}
    assert [p.label for p in chart.dots] == ["一", "二", "四", "五"]
    span = chart.bottom - chart.top
    assert by_value[50.0].y == pytest.approx(chart.bottom - span / 2, abs=0.1)
    assert by_value[90.0].y < by_value[80.0].y  # higher scores higher up
    assert len(chart.lines) == 2  # 一-二, then 四-五: never drawn through the plan without a score
    assert chart.lines[0] == f"{by_value[80.0].x},{by_value[80.0].y} {by_value[90.0].x},{by_value[90.0].y}"
    assert chart.summary == "一:80.0;二:90.0;三:无成绩;四:50.0;五:60.0"
    assert [v for _, v in chart.y_ticks] == [0, 20, 40, 60, 80, 100]


def test_a_single_plan_is_a_dot_in_the_middle_and_long_names_are_shortened():
    chart = line_chart([100.0], ["2025年11月执法质量考评(第一批)"])
    assert chart.lines == [] and len(chart.dots) == 1
    assert chart.dots[0].x == pytest.approx((chart.left + chart.right) / 2) and chart.dots[0].y == chart.top
    _, short, full = chart.x_labels[0]
    assert short.endswith("…") and len(short) == 10 and full == "2025年11月执法质量考评(第一批)"


def test_values_outside_the_scale_are_clipped_and_lengths_must_agree():
    chart = line_chart([120.0, -5.0], ["a", "b"])
    assert [p.y for p in chart.dots] == [chart.top, chart.bottom]
    with pytest.raises(ValueError):
        line_chart([1.0], ["a", "b"])
