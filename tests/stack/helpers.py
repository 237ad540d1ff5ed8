"""Bounded waits and process checks shared by the stack tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project_env(**extra: str) -> dict[str, str]:
    """The test's environment: the project importable, no external Kafka configured, SQLite
    synced at checkpoints only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTOPS_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    # No test cuts the power: `normal` survives the SIGKILLs the fault suite sends, and
    # spares every stack an fsync per commit (docs/configuration.md#durability).
    env["PRODUCTOPS_SQLITE_SYNCHRONOUS"] = "normal"
    env.update(extra)
    return env


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `check` until it holds; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text` (other than this one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found
