"""`productops demo`'s command line and where it finds its API key, without a stack: the
paths that end before the store is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.demo.cli import run
from shared.broker import free_port
from shared.settings import Settings
from shared.stack.cli import main


def test_no_load_without_simulate_has_nothing_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-load"]) == 2
    assert "--no-load needs --simulate" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--rate", "--duration"])
def test_rate_and_duration_must_be_positive(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", option, "0"])
    assert exited.value.code == 2
    assert "must be above 0" in capsys.readouterr().err


def test_without_a_key_it_says_where_one_comes_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, admin_key=None)
    code = run(
        settings, gateway=None, api_key=None, load=True, simulate=False, rate=1, duration_s=1
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--api-key" in err
    assert str(tmp_path / "admin.key") in err
    # It never makes a key up: one the gateway does not know would only fail later.
    assert not (tmp_path / "admin.key").exists()


def test_the_data_dirs_admin_key_is_used_and_a_gateway_that_is_down_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "admin.key").write_text("k" * 40 + "\n")
    settings = Settings(data_dir=tmp_path, admin_key=None, gateway_port=free_port())
    code = run(
        settings, gateway=None, api_key=None, load=True, simulate=False, rate=1, duration_s=1
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("productops demo: POST ")
    assert f"127.0.0.1:{settings.gateway_port}/v1/auth/token" in err
