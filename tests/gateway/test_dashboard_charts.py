"""The dashboard's chart and calendar geometry: pure functions, no I/O."""

from __future__ import annotations

from datetime import date

from gateway.dashboard.charts import (
    HEIGHT,
    LABEL_ROOM,
    WIDTH,
    calendar_strip,
    grouped,
    single,
    stacked,
)

PLOT = HEIGHT - LABEL_ROOM


def test_stacked_bars_share_one_scale_and_stack_bottom_up_in_key_order() -> None:
    chart = stacked(
        [("11-01", {"critical": 1, "low": 3}), ("11-02", {"critical": 2}), ("11-03", {})],
        ["critical", "low"],
    )

    assert chart.peak == 4
    assert chart.total == 6
    first = [b for b in chart.bars if b.label == "11-01"]
    assert [b.key for b in first] == ["critical", "low"]
    critical, low = first
    assert critical.height == PLOT / 4
    assert low.height == PLOT * 3 / 4
    # Stacked: the low bar sits on top of the critical one, and the column fills the plot.
    assert critical.y + critical.height == PLOT
    assert low.y + low.height == critical.y
    assert low.y == 0
    second = [b for b in chart.bars if b.label == "11-02"]
    assert second[0].height == PLOT / 2
    # An empty column draws nothing but keeps its place and label.
    assert [label for _, label in chart.labels] == ["11-01", "11-02", "11-03"]
    assert all(0 <= b.x <= WIDTH for b in chart.bars)


def test_keys_not_asked_for_and_negative_counts_are_left_out() -> None:
    chart = stacked([("a", {"critical": 2, "unknown": 50, "low": -3})], ["critical", "low"])

    assert [(b.key, b.value) for b in chart.bars] == [("critical", 2)]
    assert chart.peak == 2


def test_an_all_zero_series_is_an_empty_chart_with_no_bars() -> None:
    chart = single([("09:00", 0), ("09:01", 0)], key="events")

    assert chart.empty
    assert chart.bars == []
    assert chart.peak == 0


def test_labels_can_skip_columns_to_stay_legible() -> None:
    chart = single([(f"m{i}", i + 1) for i in range(6)], key="events", label_every=3)

    assert [label for _, label in chart.labels] == ["m0", "m3"]
    assert len(chart.bars) == 6


def test_the_calendar_strip_puts_each_launch_on_its_day_and_drops_the_rest() -> None:
    today = date(2026, 11, 27)  # a Friday
    entries = [
        {"launch_id": "a", "target_date": "2026-11-28"},
        {"launch_id": "b", "target_date": "2026-11-28"},
        {"launch_id": "c", "target_date": "2027-01-30"},  # beyond the strip
        {"launch_id": "d", "target_date": "not a date"},
    ]

    strip = calendar_strip(today, entries, days=3)

    assert [d.day for d in strip] == [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
    assert [e["launch_id"] for e in strip[1].launches] == ["a", "b"]
    assert strip[0].launches == []
    assert strip[2].launches == []
    assert [d.weekend for d in strip] == [False, True, True]


def test_grouped_bars_stand_side_by_side_on_one_scale() -> None:
    chart = grouped(
        [("Alpha", {"target": 2000, "actual": 500}), ("Beta", {"target": 1000, "actual": -40})],
        ["target", "actual"],
    )

    assert (chart.peak, chart.total) == (2000, 3500)
    alpha_target, alpha_actual, beta_target = chart.bars
    assert (alpha_target.key, alpha_actual.key, beta_target.key) == ("target", "actual", "target")
    # Side by side: the actual starts where the target ends; both stand on the axis.
    assert alpha_actual.x == alpha_target.x + alpha_target.width
    assert alpha_target.y + alpha_target.height == PLOT
    assert alpha_actual.y + alpha_actual.height == PLOT
    assert alpha_target.height == PLOT
    assert alpha_actual.height == PLOT / 4
    # A negative actual draws nothing; each group keeps its label, centred in its column.
    assert chart.labels == [(WIDTH / 4, "Alpha"), (WIDTH * 3 / 4, "Beta")]
    assert all(b.x + b.width <= WIDTH for b in chart.bars)
    assert grouped([], ["target"]).empty
