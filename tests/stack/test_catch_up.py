"""What `productops up` republishes for consumers that catch up, and `productops republish`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.app import ServiceSpec
from shared.db import new_metadata
from shared.settings import Settings
from shared.stack.catch_up import catch_up_needs, pending, record, registered_specs
from shared.stack.cli import main
from shared.stack.republish import run
from tests.support import TEST_SECRET


def spec(name: str, catch_up_from: tuple[str, ...] = ()) -> ServiceSpec:
    return ServiceSpec(
        name=name, title=name, metadata=new_metadata(), routers=[], catch_up_from=catch_up_from
    )


def test_only_services_that_declare_catch_up_need_it() -> None:
    specs = [spec("catalog"), spec("launch", ("catalog", "pricing")), spec("audit", ("feedback",))]
    assert catch_up_needs(specs) == {"launch": ("catalog", "pricing"), "audit": ("feedback",)}


def test_the_specs_are_those_of_the_registered_services(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret=SecretStr(TEST_SECRET))
    specs = registered_specs(settings, ["catalog", "pricing", "gateway"])
    assert [s.name for s in specs] == ["catalog", "pricing"]
    assert all(s.snapshots is not None for s in specs)


def test_each_producer_is_republished_once_per_consumer_and_data_dir(tmp_path: Path) -> None:
    needs = {"launch": ["catalog", "pricing", "feedback"], "audit": ["catalog"]}
    assert pending(tmp_path, needs) == needs
    record(tmp_path, "launch", "catalog")
    record(tmp_path, "launch", "pricing")
    assert pending(tmp_path, needs) == {"launch": ["feedback"], "audit": ["catalog"]}
    record(tmp_path, "launch", "feedback")
    record(tmp_path, "audit", "catalog")
    assert pending(tmp_path, needs) == {}
    # A producer named later is still owed; another data dir owes everything.
    assert pending(tmp_path, {"launch": ["catalog", "search"]}) == {"launch": ["search"]}
    assert pending(tmp_path / "other", needs) == needs


def test_the_markers_are_private_like_the_rest_of_the_data_dir(tmp_path: Path) -> None:
    record(tmp_path, "launch", "catalog")
    markers = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert markers
    for marker in markers:
        assert stat.S_IMODE(marker.stat().st_mode) == 0o600, marker
        assert stat.S_IMODE(marker.parent.stat().st_mode) == 0o700, marker.parent


def test_republish_prints_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret=SecretStr(TEST_SECRET))
    assert run(settings, "pricing") == 0
    assert capsys.readouterr().out == (
        "pricing: wrote 0 snapshot events to its outbox; its relay publishes them\n"
    )


def test_republish_of_an_unreachable_database_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 1.
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    settings = Settings(
        data_dir=tmp_path, jwt_secret=SecretStr(TEST_SECRET), catalog_database_url=url
    )
    assert run(settings, "catalog") == 1
    assert "productops: catalog: republish failed:" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["nope", "gateway"])
def test_republish_of_an_unknown_service_exits_2(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["republish", name]) == 2
    err = capsys.readouterr().err
    assert f"unknown service {name!r} (known: " in err
    assert "catalog, feedback" in err
