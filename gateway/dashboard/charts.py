"""Chart geometry for the dashboard's server-rendered SVG: pure functions, no I/O.

The templates draw what these return, so the page needs no chart library and no script to
show a chart, and the arithmetic is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# The chart's drawing area in SVG user units; the SVG scales to its box with `viewBox`.
WIDTH = 600
HEIGHT = 160
# Room under the bars for the axis labels.
LABEL_ROOM = 18


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    key: str
    label: str


@dataclass(frozen=True)
class Chart:
    """Bars (stacked when several keys share a column) and a label under some columns."""

    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    peak: int
    total: int

    @property
    def empty(self) -> bool:
        return self.total == 0


def stacked(
    columns: Sequence[tuple[str, Mapping[str, int]]],
    keys: Sequence[str],
    *,
    label_every: int = 1,
) -> Chart:
    """One column per `(label, {key: value})`, its keys stacked bottom up in `keys` order
    (keys not listed are left out); the tallest column fills the height."""
    plot = HEIGHT - LABEL_ROOM
    sums = [sum(max(0, int(values.get(k, 0))) for k in keys) for _, values in columns]
    peak = max(sums, default=0)
    step = WIDTH / max(1, len(columns))
    bar_width = max(1.0, step * 0.8)
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for index, (label, values) in enumerate(columns):
        x = index * step + (step - bar_width) / 2
        top = float(plot)
        for key in keys:
            value = max(0, int(values.get(key, 0)))
            if value == 0 or peak == 0:
                continue
            height = plot * value / peak
            top -= height
            bars.append(
                Bar(
                    round(x, 2),
                    round(top, 2),
                    round(bar_width, 2),
                    round(height, 2),
                    value,
                    key,
                    label,
                )
            )
        if index % label_every == 0:
            labels.append((round(x + bar_width / 2, 2), label))
    return Chart(WIDTH, HEIGHT, bars, labels, peak, sum(sums))


def single(columns: Sequence[tuple[str, int]], *, key: str, label_every: int = 1) -> Chart:
    """One bar per `(label, value)`."""
    return stacked(
        [(label, {key: value}) for label, value in columns], [key], label_every=label_every
    )


def grouped(columns: Sequence[tuple[str, Mapping[str, int]]], keys: Sequence[str]) -> Chart:
    """One column per `(label, {key: value})`, its keys side by side in `keys` order (a
    plan's target beside its actual); negative values are drawn as nothing, the tallest bar
    fills the height."""
    plot = HEIGHT - LABEL_ROOM
    values = [[max(0, int(v.get(k, 0))) for k in keys] for _, v in columns]
    peak = max((max(row, default=0) for row in values), default=0)
    step = WIDTH / max(1, len(columns))
    bar_width = max(1.0, step * 0.8 / max(1, len(keys)))
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for index, ((label, _), row) in enumerate(zip(columns, values, strict=True)):
        left = index * step + step * 0.1
        for offset, (key, value) in enumerate(zip(keys, row, strict=True)):
            if value == 0 or peak == 0:
                continue
            height = plot * value / peak
            x = left + offset * bar_width
            bars.append(
                Bar(
                    round(x, 2),
                    round(plot - height, 2),
                    round(bar_width, 2),
                    round(height, 2),
                    value,
                    key,
                    label,
                )
            )
        labels.append((round(index * step + step / 2, 2), label))
    return Chart(WIDTH, HEIGHT, bars, labels, peak, sum(sum(row) for row in values))


@dataclass(frozen=True)
class CalendarDay:
    day: date
    launches: list[dict[str, Any]]

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5


def calendar_strip(
    today: date, entries: Sequence[Mapping[str, Any]], days: int
) -> list[CalendarDay]:
    """`days` days from `today`, each with the calendar entries whose target date it is
    (an entry's `target_date` is an ISO date); entries outside the strip are left out."""
    by_day: dict[date, list[dict[str, Any]]] = {}
    for entry in entries:
        try:
            target = date.fromisoformat(str(entry["target_date"]))
        except (KeyError, ValueError):
            continue
        by_day.setdefault(target, []).append(dict(entry))
    strip = [today + timedelta(days=offset) for offset in range(days)]
    return [CalendarDay(day, by_day.get(day, [])) for day in strip]
