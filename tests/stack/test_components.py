"""Discovery of the components `productops up` runs."""

from __future__ import annotations

import pytest

from shared.stack.cli import main
from shared.stack.components import load_factory, service_names

pytestmark = pytest.mark.stack


def test_service_names_are_sorted_and_exclude_the_gateway() -> None:
    names = service_names()
    assert names == sorted(names)
    assert "gateway" not in names


def test_an_unknown_component_is_refused_with_the_known_ones() -> None:
    with pytest.raises(LookupError, match=r"unknown component 'nope'.*gateway"):
        load_factory("nope")


def test_serve_of_an_unknown_component_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "nope"]) == 2
    assert "unknown component 'nope'" in capsys.readouterr().err
