"""The supervisor over real child processes (fake HTTP components) and the real broker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shared.broker import free_port, port_open
from shared.stack.process import RestartDelay

from .helpers import ROOT, alive, processes_mentioning, project_env, wait_until

pytestmark = pytest.mark.stack

LAUNCHER = Path(__file__).with_name("run_supervisor.py")
COMPONENTS = ["catalog", "pricing", "gateway"]


class Stack:
    """A supervisor process started by a test, with its output in a file."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.data_dir = tmp_path / "var"
        self.ports = {name: free_port() for name in COMPONENTS}
        self.broker_port = free_port()
        env = project_env(
            PRODUCTOPS_DATA_DIR=str(self.data_dir),
            PRODUCTOPS_BROKER_PORT=str(self.broker_port),
            **{f"PRODUCTOPS_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
        )
        self.out_path = tmp_path / "supervisor.out"
        with self.out_path.open("wb") as out:
            # stdin closed and no terminal: how CI and `make run` under a service manager run it.
            self.process = subprocess.Popen(
                [sys.executable, str(LAUNCHER), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )

    @property
    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def pids(self, name: str) -> list[int]:
        """Every pid the supervisor reported for a component, in order."""
        return [int(p) for p in re.findall(rf"(?:re)?started {name} pid=(\d+)", self.output)]

    def wait_for_output(self, text: str, timeout_s: float = 60.0) -> None:
        def seen() -> bool:
            if text in self.output:
                return True
            assert self.process.poll() is None, f"supervisor exited early:\n{self.output}"
            return False

        wait_until(seen, timeout_s, f"{text!r} in the supervisor output")

    def answers(self, name: str, path: str = "/readyz") -> bool:
        try:
            url = f"http://127.0.0.1:{self.ports[name]}{path}"
            return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout_s)

    def leftovers(self) -> list[int]:
        """Processes that outlived the supervisor: reported pids, fakes, the broker's port."""
        reported = [int(p) for p in re.findall(r"pid=(\d+)", self.output)]
        by_cmdline = processes_mentioning(str(self.data_dir))
        by_cmdline += processes_mentioning(f"127.0.0.1:{self.broker_port}")
        return sorted({pid for pid in reported if alive(pid)} | set(by_cmdline))

    def kill_all(self) -> None:
        """Last resort after a failed test, so nothing leaks into the next one."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pid in self.leftovers():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def make_stack(tmp_path: Path):
    stacks: list[Stack] = []

    def make(*args: str) -> Stack:
        stacks.append(Stack(tmp_path, *args))
        return stacks[-1]

    yield make
    for stack in stacks:
        stack.kill_all()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_up_restarts_what_dies_and_stops_cleanly(make_stack, stop_signal: signal.Signals) -> None:
    stack = make_stack(",".join(COMPONENTS))
    stack.wait_for_output("ProductOps is up")
    output = stack.output
    assert f"http://127.0.0.1:{stack.ports['gateway']}/dashboard" in output
    assert (stack.data_dir / "admin.key").read_text().strip() in output
    assert (stack.data_dir / "jwt.secret").exists()
    assert f"127.0.0.1:{stack.broker_port} (embedded)" in output
    assert "/v1/auth/token" in output
    assert "productops demo --no-load --simulate" in output
    for name in COMPONENTS:
        assert stack.answers(name, "/healthz"), name

    [first_catalog] = stack.pids("catalog")
    os.kill(first_catalog, signal.SIGKILL)
    wait_until(lambda: len(stack.pids("catalog")) == 2, 15, "catalog to be restarted")
    wait_until(lambda: stack.answers("catalog"), 15, "the restarted catalog to answer")
    assert stack.pids("catalog")[1] != first_catalog

    [first_broker] = stack.pids("broker")
    os.kill(first_broker, signal.SIGKILL)
    wait_until(lambda: len(stack.pids("broker")) == 2, 20, "the broker to be restarted")
    assert port_open("127.0.0.1", stack.broker_port)

    assert stack.stop(stop_signal) == 0, stack.output
    assert "productops: stopped" in stack.output
    assert stack.leftovers() == [], stack.output


def test_a_component_that_never_gets_ready_fails_the_start(make_stack) -> None:
    stack = make_stack("catalog,gateway", "--not-ready", "catalog", "--ready-timeout", "3")
    assert stack.process.wait(30) == 1, stack.output
    output = stack.output
    assert "catalog not ready after 3s (HTTP 503)" in output
    assert "fake catalog listening on" in output  # the last lines of its log come with it
    assert "ProductOps is up" not in output
    assert stack.leftovers() == [], output


def test_backoff_doubles_to_a_cap_and_resets_after_a_healthy_run() -> None:
    backoff = RestartDelay()
    delays = [backoff.delay(uptime_s=1.0) for _ in range(9)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff.delay(uptime_s=61.0) == 0.5
    assert backoff.delay(uptime_s=1.0) == 1.0


def test_catch_up_republishes_before_anything_starts_once_per_data_dir(make_stack) -> None:
    args = ("catalog,pricing,gateway", "--catch-up", "launch=catalog+pricing")
    stack = make_stack(*args)
    stack.wait_for_output("ProductOps is up")
    output = stack.output
    assert "republished catalog's snapshots for launch" in output
    assert output.index("republished pricing's") < output.index("started catalog")
    republished = stack.data_dir / "republished"
    assert republished.read_text().split() == ["catalog", "pricing"]
    assert (stack.data_dir / "catch-up" / "launch").read_text().split() == ["catalog", "pricing"]
    assert stack.stop() == 0, stack.output

    again = make_stack(*args)
    again.wait_for_output("ProductOps is up")
    assert "republished" not in again.output
    assert republished.read_text().split() == ["catalog", "pricing"], "not twice"
    assert again.stop() == 0, again.output
    assert again.leftovers() == [], again.output


def test_a_failed_catch_up_fails_the_start_and_is_tried_again(make_stack) -> None:
    stack = make_stack("catalog,gateway", "--catch-up", "launch=catalog", "--republish-fails")
    assert stack.process.wait(30) == 1, stack.output
    output = stack.output
    assert "republish catalog exited with code 3" in output
    assert "started catalog" not in output
    assert not (stack.data_dir / "catch-up" / "launch").exists()
    assert stack.leftovers() == [], output
