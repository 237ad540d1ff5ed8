"""The deploy tests' command-line tools: skipped where a tool is absent, required under CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.settings import Settings
from shared.stack.components import GATEWAY, service_names

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    """The path of `name`; the test is skipped without it, and fails without it under CI=true
    (.ci/run installs it)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {name} is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool in the repository root; bounded, output captured as text."""
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def components() -> list[str]:
    """Every registered service and the gateway: what a deploy must run."""
    return sorted([*service_names(), GATEWAY])


def port(component: str) -> int:
    """A component's default port (the settings' defaults, whatever this shell exports)."""
    return Settings.model_construct().port(component)
