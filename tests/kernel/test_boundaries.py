"""The layout's import boundaries (DESIGN.md, issue 8): checked on the real tree, and the checker
itself checked on a planted tree."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.boundaries import boundary_violations

SERVICE = "a service never imports another service"
SHARED = "shared/ imports no service and no gateway"
GATEWAY = "the gateway imports no service; what it needs of one belongs in shared/"


def test_no_service_shared_or_gateway_module_crosses_a_boundary() -> None:
    violations = boundary_violations()
    assert violations == [], "\n".join(str(violation) for violation in violations)


def plant(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")


def test_the_checker_reports_every_crossing_with_its_file_and_line(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "services/__init__.py": "",
            "services/alpha/__init__.py": "",
            "services/alpha/core.py": """
                from services.alpha import helpers
                from services.beta.api import router
                from shared import db


                def late() -> None:
                    import services.beta.service
                    from ..beta import domain
                    from . import helpers
            """,
            "services/alpha/helpers.py": "from .core import late\n",
            "services/alpha/sub/__init__.py": "from ...beta import tables\n",
            "services/beta/__init__.py": "from services import alpha\n",
            "shared/__init__.py": "",
            "shared/kernel.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from gateway.app import create_app


                def load() -> None:
                    import services.alpha
            """,
            "gateway/__init__.py": "",
            "gateway/proxy.py": """
                from shared.kernel import load
                from services.beta.schemas import Thing
            """,
        },
    )

    found = sorted(
        (v.found.path.as_posix(), v.found.line, v.found.target, v.rule)
        for v in boundary_violations(tmp_path)
    )

    assert found == [
        ("gateway/proxy.py", 2, "services.beta.schemas.Thing", GATEWAY),
        ("services/alpha/core.py", 2, "services.beta.api.router", SERVICE),
        ("services/alpha/core.py", 7, "services.beta.service", SERVICE),
        ("services/alpha/core.py", 8, "services.beta.domain", SERVICE),
        ("services/alpha/sub/__init__.py", 1, "services.beta.tables", SERVICE),
        ("services/beta/__init__.py", 1, "services.alpha", SERVICE),
        ("shared/kernel.py", 4, "gateway.app.create_app", SHARED),
        ("shared/kernel.py", 8, "services.alpha", SHARED),
    ]


def test_a_violation_names_its_file_line_and_rule(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "services/alpha/__init__.py": "",
            "services/beta/__init__.py": "",
            "services/alpha/api.py": "import os\nimport re\nfrom services.beta import api\n",
        },
    )

    [violation] = boundary_violations(tmp_path)

    assert str(violation) == f"services/alpha/api.py:3 imports services.beta.api ({SERVICE})"
