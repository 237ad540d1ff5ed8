"""Domain errors refuse extra fields that would overwrite the problem's own."""

from __future__ import annotations

import pytest

from shared.errors import Conflict


@pytest.mark.parametrize("field", ["type", "title", "status", "detail", "slug"])
def test_extras_cannot_shadow_problem_fields(field: str) -> None:
    with pytest.raises(TypeError, match=field):
        Conflict("no", **{field: "x"})


def test_other_extras_are_kept() -> None:
    assert Conflict("no", current_status="dismissed").extra == {"current_status": "dismissed"}
