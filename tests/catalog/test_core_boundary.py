"""The catalog core knows none of its sub-domains: they subscribe to its notices (issue 8)."""

from __future__ import annotations

from tests.boundaries import REPO_ROOT, imports_of, within

CATALOG = REPO_ROOT / "services" / "catalog"
# The composition root wires the sub-domains to the core, so it alone may import both.
COMPOSITION_ROOT = CATALOG / "app.py"


def test_core_modules_import_no_catalog_subpackage() -> None:
    subpackages = sorted(
        f"services.catalog.{init.parent.name}" for init in CATALOG.glob("*/__init__.py")
    )
    core = sorted(path for path in CATALOG.glob("*.py") if path != COMPOSITION_ROOT)
    assert {"services.catalog.decisions", "services.catalog.variants"} <= set(subpackages)
    assert CATALOG / "service.py" in core

    crossings = [
        str(found)
        for path in core
        for found in imports_of(REPO_ROOT, path)
        if any(within(found.target, subpackage) for subpackage in subpackages)
    ]

    assert crossings == [], "\n".join(crossings)
