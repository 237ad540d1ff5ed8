"""Compare each benchmark's newest recorded run with the one before it: prints, asserts nothing.

    .venv/bin/python -m tests.perf.compare [--dir var/bench]

Every bench writes `var/bench/<bench>-<UTC timestamp>.json` (tests/perf/common.py `record`).
For each bench this prints one table: figure, previous, now, change %, and whether the change
is for the better, with both runs' commit and load average. Figures from runs under very
different load are not comparable (issue 16's first rule): the load is printed to judge that.
Nor are figures from two machines: the table says so when the cores, the CPU, its
instruction sets or Python differ.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tests.perf.common import BENCH_DIR

_FILE = re.compile(r"(?P<bench>.+)-(?P<stamp>\d{8}T\d{6}\d*Z)\.json")
# Units where less is better, and where more is ("x": a ratio to the limit); a figure in
# another unit (cores used, counts) gets no verdict.
_LOWER_IS_BETTER = frozenset({"ms", "s"})
_HIGHER_IS_BETTER = frozenset({"/s", "x"})


@dataclass(frozen=True)
class Row:
    """One figure of a bench in the previous and the newest run."""

    figure: str
    unit: str
    previous: float | None
    now: float | None

    @property
    def change_pct(self) -> float | None:
        if self.previous is None or self.now is None or self.previous == 0:
            return None
        return (self.now - self.previous) / abs(self.previous) * 100

    @property
    def verdict(self) -> str:
        """ "better", "worse" or "" (no change, no unit to judge by, or a missing side)."""
        change = self.change_pct
        if change is None or change == 0:
            return ""
        if self.unit in _LOWER_IS_BETTER:
            return "better" if change < 0 else "worse"
        if self.unit in _HIGHER_IS_BETTER:
            return "better" if change > 0 else "worse"
        return ""


def runs_by_bench(paths: Iterable[Path]) -> dict[str, list[Path]]:
    """Recorded runs grouped by bench, oldest first (the timestamp in the name orders them);
    files not named like a recorded run are ignored."""
    runs: dict[str, list[tuple[str, Path]]] = {}
    for path in paths:
        match = _FILE.fullmatch(path.name)
        if match:
            runs.setdefault(match["bench"], []).append((match["stamp"], path))
    return {bench: [path for _, path in sorted(found)] for bench, found in sorted(runs.items())}


def compare(previous: Mapping[str, Any] | None, now: Mapping[str, Any]) -> list[Row]:
    """The newest run's figures next to the previous run's, in the newest run's order; then
    figures only the previous run had."""
    before: Mapping[str, Any] = previous["figures"] if previous else {}
    after: Mapping[str, Any] = now["figures"]
    rows = [
        Row(
            figure=name,
            unit=taken["unit"],
            previous=before[name]["value"] if name in before else None,
            now=taken["value"],
        )
        for name, taken in after.items()
    ]
    rows += [
        Row(figure=name, unit=taken["unit"], previous=taken["value"], now=None)
        for name, taken in before.items()
        if name not in after
    ]
    return rows


def settings_changed(previous: Mapping[str, Any] | None, now: Mapping[str, Any]) -> str:
    """The bench settings that differ between the runs, as `name: old -> new`; "" if none."""
    if previous is None:
        return ""
    before, after = previous.get("settings", {}), now.get("settings", {})
    return _differences(before, after, sorted(before.keys() | after.keys()), str)


# What makes two runs' figures comparable at all: the same machine (issue 16's first rule).
# Machines here that differ only in their instruction sets have moved figures by a third.
_MACHINE = ("cores", "cpu", "cpu_flags", "python")


def machine_changed(previous: Mapping[str, Any] | None, now: Mapping[str, Any]) -> str:
    """How the machines of the two runs differ, as `name: old -> new`; "" if they do not.
    A run recorded before the CPU was written shows it as unrecorded."""
    if previous is None:
        return ""
    return _differences(previous["machine"], now["machine"], _MACHINE, _shown)


def _differences(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    names: Iterable[str],
    shown: Callable[[Any], str],
) -> str:
    """`name: old -> new` for each of `names` whose value differs, joined by commas."""
    return ", ".join(
        f"{name}: {shown(before.get(name))} -> {shown(after.get(name))}"
        for name in names
        if before.get(name) != after.get(name)
    )


def _shown(value: Any) -> str:
    if value is None:
        return "unrecorded"
    if isinstance(value, list):  # instruction sets
        return " ".join(value) or "none"
    return str(value)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _run(result: Mapping[str, Any] | None) -> str:
    if result is None:
        return "none"
    machine = result["machine"]
    load = machine.get("load_average_end") or machine.get("load_average_start")
    return (
        f"{result['date']} {result['commit'][:12]}, {machine['cores']} cores, "
        f"load {', '.join(f'{one:.2f}' for one in load)}"
    )


def render(bench: str, previous: Mapping[str, Any] | None, now: Mapping[str, Any]) -> str:
    """The comparison table of one bench, as text."""
    rows = compare(previous, now)
    header = ("figure", "unit", "previous", "now", "change", "")
    cells = [
        (
            row.figure,
            row.unit,
            _number(row.previous),
            _number(row.now),
            "-" if row.change_pct is None else f"{row.change_pct:+.1f}%",
            row.verdict,
        )
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *cells]) for i in range(len(header))]
    text = [
        f"== {bench}",
        f"  previous: {_run(previous)}",
        f"  now:      {_run(now)}",
    ]
    if moved := machine_changed(previous, now):
        text.append(f"  another machine (previous -> now): {moved}: not comparable")
    if changed := settings_changed(previous, now):
        text.append(f"  settings differ (previous -> now): {changed}")
    for line in [header, *cells]:
        name, unit, *numbers, verdict = line
        text.append(
            f"  {name:<{widths[0]}}  {unit:<{widths[1]}}  "
            + "  ".join(f"{n:>{w}}" for n, w in zip(numbers, widths[2:5], strict=True))
            + (f"  {verdict}" if verdict else "")
        )
    return "\n".join(text)


def main(directory: Path) -> None:
    runs = runs_by_bench(directory.glob("*.json"))
    if not runs:
        print(f"no recorded runs in {directory}")
    for bench, paths in runs.items():
        now = orjson.loads(paths[-1].read_bytes())
        previous = orjson.loads(paths[-2].read_bytes()) if len(paths) > 1 else None
        print(render(bench, previous, now), end="\n\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=BENCH_DIR)
    main(parser.parse_args().dir)
