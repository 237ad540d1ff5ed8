"""The recorded-results plumbing of the benchmarks: what is written, and how two runs compare.

Pure bookkeeping with made-up figures: no benchmark runs here and no time is asserted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tests.perf import common
from tests.perf.compare import (
    Row,
    compare,
    machine_changed,
    render,
    runs_by_bench,
    settings_changed,
)


def _run(figures: dict[str, tuple[float, str]], *, date: str = "2026-11-29T12:00:00Z") -> Any:
    return {
        "bench": "ingest",
        "date": date,
        "commit": "0123456789abcdef",
        "machine": {"cores": 2, "python": "3.11.9", "load_average_end": [1.5, 1.2, 1.0]},
        "figures": {name: {"value": v, "unit": u} for name, (v, u) in figures.items()},
    }


def test_change_and_verdict_follow_the_unit() -> None:
    rows = compare(
        _run({"rate": (1000, "/s"), "p99": (20, "ms"), "ratio": (0.5, "x")}),
        _run({"rate": (1500, "/s"), "p99": (30, "ms"), "ratio": (0.5, "x")}),
    )
    assert rows == [
        Row("rate", "/s", 1000, 1500),
        Row("p99", "ms", 20, 30),
        Row("ratio", "x", 0.5, 0.5),
    ]
    assert [row.change_pct for row in rows] == [50.0, 50.0, 0.0]
    # More per second is better, more milliseconds worse; no change is no verdict.
    assert [row.verdict for row in rows] == ["better", "worse", ""]


def test_a_unit_without_a_direction_gets_no_verdict() -> None:
    rows = compare(_run({"CPU": (0.3, "cores")}), _run({"CPU": (0.6, "cores")}))
    assert [(row.change_pct, row.verdict) for row in rows] == [(100.0, "")]


def test_runs_with_other_settings_say_so() -> None:
    previous = _run({"rate": (1, "/s")}) | {"settings": {"events": 50_000, "batch": 500}}
    now = _run({"rate": (2, "/s")}) | {"settings": {"events": 100_000, "batch": 500}}
    assert settings_changed(previous, now) == "events: 50000 -> 100000"
    assert settings_changed(now, now) == ""
    assert settings_changed(None, now) == ""
    assert (
        "  settings differ (previous -> now): events: 50000 -> 100000"
        in render("ingest", previous, now).splitlines()
    )


def test_figures_on_one_side_only_have_no_change() -> None:
    rows = compare(
        _run({"gone": (3, "s"), "kept": (0, "/s")}), _run({"new": (7, "ms"), "kept": (5, "/s")})
    )
    assert rows == [Row("new", "ms", None, 7), Row("kept", "/s", 0, 5), Row("gone", "s", 3, None)]
    # From zero there is no percentage to give.
    assert [(row.change_pct, row.verdict) for row in rows] == [(None, ""), (None, ""), (None, "")]


def test_a_first_run_compares_with_nothing() -> None:
    rows = compare(None, _run({"rate": (10, "/s")}))
    assert rows == [Row("rate", "/s", None, 10)]


def test_runs_are_grouped_by_bench_oldest_first() -> None:
    names = [
        "ingest-20261129T120500123456Z.json",
        "relay-20261129T110000000000Z.json",
        "ingest-20261129T110000000000Z.json",
        "catalog_research-20261129T100000000000Z.json",
        "notes.json",
        "ingest-latest.json",
    ]
    runs = runs_by_bench(Path("var/bench") / name for name in names)
    assert {bench: [p.name for p in paths] for bench, paths in runs.items()} == {
        "catalog_research": ["catalog_research-20261129T100000000000Z.json"],
        "ingest": ["ingest-20261129T110000000000Z.json", "ingest-20261129T120500123456Z.json"],
        "relay": ["relay-20261129T110000000000Z.json"],
    }


def test_the_table_shows_both_runs_and_each_change() -> None:
    previous = _run({"gateway acceptance": (10_000, "/s")}, date="2026-11-29T11:00:00Z")
    now = _run({"gateway acceptance": (12_500, "/s")})
    table = render("ingest", previous, now).splitlines()
    assert table[0] == "== ingest"
    assert (
        table[1] == "  previous: 2026-11-29T11:00:00Z 0123456789ab, 2 cores, load 1.50, 1.20, 1.00"
    )
    assert (
        table[2] == "  now:      2026-11-29T12:00:00Z 0123456789ab, 2 cores, load 1.50, 1.20, 1.00"
    )
    assert table[3].split() == ["figure", "unit", "previous", "now", "change"]
    assert table[4].split() == [
        "gateway",
        "acceptance",
        "/s",
        "10,000",
        "12,500",
        "+25.0%",
        "better",
    ]


def test_record_writes_the_figures_with_the_machine_and_starts_afresh(tmp_path: Path) -> None:
    common.section("on SQLite")
    common.figure("rate", 1234.5678, "/s")
    common.line("latency", [0.001, 0.002, 0.003])
    common.section("on PostgreSQL")
    common.figure("rate", 99, "/s")
    common.figure("rate", 98, "/s")  # the same name twice in a section keeps both
    path = common.record("demo", directory=tmp_path, events=500)
    written = orjson.loads(path.read_bytes())
    assert path.parent == tmp_path
    assert runs_by_bench([path]) == {"demo": [path]}
    assert written["bench"] == "demo"
    assert written["settings"] == {"events": 500}
    assert written["machine"]["cores"] >= 1
    assert written["machine"]["cpu"] == common.cpu()["cpu"]
    assert len(written["machine"]["load_average_start"]) == 3
    assert written["figures"] == {
        "on SQLite: rate": {"value": 1234.5678, "unit": "/s"},
        "on SQLite: latency p50": {"value": 2.0, "unit": "ms"},
        "on SQLite: latency p99": {"value": 3.0, "unit": "ms"},
        "on PostgreSQL: rate": {"value": 99, "unit": "/s"},
        "on PostgreSQL: rate (2)": {"value": 98, "unit": "/s"},
    }
    again = orjson.loads(common.record("demo", directory=tmp_path).read_bytes())
    assert again["figures"] == {}


def test_runs_on_another_machine_say_so() -> None:
    previous = _run({"rate": (1, "/s")})
    previous["machine"] |= {"cpu": "AMD EPYC (family 25, model 1)", "cpu_flags": ["avx2"]}
    now = _run({"rate": (2, "/s")})
    now["machine"] |= {
        "cpu": "AMD EPYC (family 25, model 17)",
        "cpu_flags": ["avx2", "avx512f", "avx512_vnni"],
    }
    assert machine_changed(previous, now) == (
        "cpu: AMD EPYC (family 25, model 1) -> AMD EPYC (family 25, model 17), "
        "cpu_flags: avx2 -> avx2 avx512f avx512_vnni"
    )
    assert machine_changed(now, now) == ""
    assert machine_changed(None, now) == ""
    # A run recorded before the CPU was written down.
    assert machine_changed(_run({}), now).startswith("cpu: unrecorded -> AMD EPYC")
    assert (
        "  another machine (previous -> now): cpu: AMD EPYC (family 25, model 1) -> AMD EPYC"
        " (family 25, model 17), cpu_flags: avx2 -> avx2 avx512f avx512_vnni: not comparable"
        in render("ingest", previous, now).splitlines()
    )


def test_the_cpu_is_read_from_the_first_processor(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
        "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n\n"
        "processor\t: 1\nmodel name\t: something else\nflags\t\t: fpu\n"
    )
    assert common.cpu(cpuinfo) == {
        "cpu": "AMD EPYC (family 25, model 17)",
        "cpu_flags": ["avx2", "avx512f", "avx512_vnni"],
    }
    assert common.cpu(tmp_path / "absent")["cpu_flags"] == []
