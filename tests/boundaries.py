"""The import-boundary checker: which module imports what, read from the source with `ast`.

DESIGN.md's layout rules (a service never imports another service; `shared/` imports no
service or gateway) and issue 8's (the gateway imports no service) hold only if a test holds
them. Every import statement counts: top-level, inside a function or under `TYPE_CHECKING`,
absolute or relative.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECKED_PACKAGES = ("shared", "services", "gateway")


@dataclass(frozen=True)
class Import:
    """One name an import statement brings in, as an absolute dotted module path."""

    path: Path  # relative to the tree's root
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.path.as_posix()}:{self.line} imports {self.target}"


@dataclass(frozen=True)
class Violation:
    """An import that crosses a boundary, with the rule it breaks."""

    found: Import
    rule: str

    def __str__(self) -> str:
        return f"{self.found} ({self.rule})"


def within(name: str, package: str) -> bool:
    """True when `name` is `package` or lies inside it."""
    return name == package or name.startswith(package + ".")


def module_of(root: Path, path: Path) -> str:
    """The dotted module name of a source file under `root`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path, path: Path) -> Iterator[Import]:
    """Every name `path` imports, relative imports resolved against its package."""
    module = module_of(root, path)
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    relative = path.relative_to(root)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(relative, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            # `from services import pricing` imports a package, not only `services`.
            for alias in node.names:
                target = base if alias.name == "*" else f"{base}.{alias.name}".lstrip(".")
                yield Import(relative, node.lineno, target)


def python_files(root: Path, *packages: str) -> list[Path]:
    """The .py files under the given top-level packages of `root`, in a stable order."""
    return sorted(path for package in packages for path in (root / package).rglob("*.py"))


def service_packages(root: Path) -> list[str]:
    """`services.<name>` for each service package under `root`."""
    return sorted(
        f"services.{init.parent.name}" for init in (root / "services").glob("*/__init__.py")
    )


def boundary_violations(root: Path = REPO_ROOT) -> list[Violation]:
    """Every import in `shared/`, `services/` and `gateway/` that crosses a boundary."""
    services = service_packages(root)
    found: list[Violation] = []
    for path in python_files(root, *CHECKED_PACKAGES):
        importer = module_of(root, path)
        for imported in imports_of(root, path):
            rule = _broken_rule(importer, imported.target, services)
            if rule is not None:
                found.append(Violation(imported, rule))
    return found


def _broken_rule(importer: str, target: str, services: list[str]) -> str | None:
    own = next((service for service in services if within(importer, service)), None)
    other = next((service for service in services if within(target, service)), None)
    if own is not None and other is not None and other != own:
        return "a service never imports another service"
    if within(importer, "shared") and (within(target, "services") or within(target, "gateway")):
        return "shared/ imports no service and no gateway"
    if within(importer, "gateway") and within(target, "services"):
        return "the gateway imports no service; what it needs of one belongs in shared/"
    return None


def _absolute(node: ast.ImportFrom, package: list[str]) -> str:
    if node.level == 0:
        return node.module or ""
    # Level 1 is the importer's own package, each further dot one package up.
    anchor = package[: max(len(package) - node.level + 1, 0)]
    return ".".join([*anchor, *([node.module] if node.module else [])])
