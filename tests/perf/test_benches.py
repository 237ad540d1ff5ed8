"""`make bench` runs every benchmark script in tests/perf/, and each one records its figures
(issue 16: every bench writes JSON to var/bench/, and the compare that ends `make bench`
shows each run against the previous one). Reads files only: no benchmark runs here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PERF = ROOT / "tests" / "perf"


def bench_target_steps() -> list[str]:
    """The modules the Makefile's `bench` recipe runs, in order."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("bench:")))
    steps = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        found = re.search(r"-m tests\.perf\.(\w+)", line)
        if found:
            steps.append(found[1])
    return steps


def bench_scripts() -> set[str]:
    return {path.stem for path in PERF.glob("bench_*.py")}


def test_make_bench_runs_every_bench_once_then_the_compare() -> None:
    steps = bench_target_steps()

    assert steps[-1] == "compare"
    benches = steps[:-1]
    assert sorted(benches) == sorted(set(benches)), "a bench listed twice"
    assert set(benches) == bench_scripts()


def test_every_bench_records_its_figures() -> None:
    # `record(...)` writes var/bench/<bench>-<time>.json; without it the compare never sees
    # the bench, however much it prints.
    silent = [
        name
        for name in sorted(bench_scripts())
        if not re.search(r"^\s*record\(", (PERF / f"{name}.py").read_text(encoding="utf-8"), re.M)
    ]
    assert silent == []
