"""`productops migrate [NAME]`: runs the migrations by hand and says what it did."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.stack.cli import main
from shared.stack.components import load_history, service_names


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Every component on a SQLite file of its own in this directory.
    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(tmp_path))
    return tmp_path


def test_migrate_one_component_then_all(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "gateway"]) == 0
    first = capsys.readouterr().out
    assert first.startswith(
        "gateway: applied 0001_initial, 0002_api_key_owner, 0003_kernel_tables (sqlite"
    )
    assert str(data_dir / "gateway.db") in first

    assert main(["migrate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Each component is taken from nothing through its whole history (its head last).
    services = service_names()
    assert [line.split(":")[0] for line in lines] == [*services, "gateway"]
    for name, line in zip(services, lines, strict=False):
        (head,) = load_history(name).heads()
        assert line.startswith(f"{name}: applied 0001_initial"), line
        assert line.endswith(f"{head} (sqlite+aiosqlite:///{data_dir / f'{name}.db'})"), line
    assert lines[-1] == (
        f"gateway: already at the newest revision (sqlite+aiosqlite:///{data_dir / 'gateway.db'})"
    )


def test_migrate_an_unknown_component_exits_2_and_touches_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "nope"]) == 2

    assert "unknown component 'nope'" in capsys.readouterr().err
    assert list(data_dir.iterdir()) == []


def test_a_database_that_cannot_be_reached_exits_1(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "PRODUCTOPS_PRICING_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )

    assert main(["migrate", "pricing"]) == 1

    assert "pricing: migration failed" in capsys.readouterr().err
