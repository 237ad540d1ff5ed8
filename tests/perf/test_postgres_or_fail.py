"""A bench asked for PostgreSQL (`--postgres`) runs on it or stops (issue 16: never a silent
run on SQLite), and a bench that runs on both databases says when it skips PostgreSQL.
PostgreSQL is made unreachable by pointing the benches at a loopback port nothing listens
on; each bench asked for it must stop before it starts a broker or a service."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

import pytest

from shared.broker import free_port
from tests.perf import bench_ingest, bench_launch, bench_relay, bench_triage, common

BENCHES: dict[str, tuple[Callable[[argparse.Namespace], Awaitable[None]], dict[str, object]]] = {
    "ingest": (bench_ingest.main, {"events": 10, "batch": 5, "concurrency": 1}),
    "relay": (bench_relay.main, {"events": 10, "rounds": 1}),
    "triage": (bench_triage.main, {"events": 10, "workers": 1}),
    # Without the reviews (which would start a broker first), straight to the plans' part:
    # the one that once fell back to SQLite.
    "launch": (bench_launch.main, {"skip_reviews": True, "plans": 10}),
}


@pytest.fixture
def unreachable_postgres(monkeypatch: pytest.MonkeyPatch) -> str:
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    monkeypatch.setattr(common, "PG_DSN", dsn)
    return dsn


@pytest.mark.parametrize("bench", sorted(BENCHES))
async def test_a_bench_asked_for_postgres_stops_when_it_does_not_answer(
    bench: str, unreachable_postgres: str
) -> None:
    main, options = BENCHES[bench]

    with pytest.raises(SystemExit) as stopped:
        await main(argparse.Namespace(postgres=True, **options))

    assert str(stopped.value.code) == (
        f"--postgres: PostgreSQL does not answer ({unreachable_postgres})"
    )


@pytest.mark.postgres
async def test_required_postgres_gives_a_scratch_database_when_it_answers() -> None:
    url = await common.required_postgres()
    try:
        assert url.startswith("postgresql+asyncpg://postgres@127.0.0.1:5432/po_bench_")
    finally:
        await common.drop_postgres(url)


async def test_a_bench_told_to_skip_postgres_does_not_ask_for_it(
    unreachable_postgres: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await common.optional_postgres(skipped=True) is None
    assert capsys.readouterr().out == ""


async def test_a_bench_that_runs_on_both_says_when_postgres_is_skipped(
    unreachable_postgres: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await common.optional_postgres(skipped=False) is None
    assert capsys.readouterr().out == "\n== PostgreSQL not reachable: skipped\n"
