"""One supervised child process: spawn into its own process group, stop, restart delay."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from shared.backoff import Backoff
from shared.broker import die_with_parent_hook
from shared.files import append_private

# No jitter: one supervisor restarts its own processes, there is no crowd to spread out,
# and the delay it logs is the one it waits.
_RESTARTS = Backoff(first_s=0.5, cap_s=30.0, jitter=0.0)


class RestartDelay:
    """Restart delay: 0.5 s doubling up to 30 s, back to 0.5 s after 60 s of healthy running."""

    def __init__(self, backoff: Backoff = _RESTARTS, healthy_s: float = 60.0) -> None:
        self._backoff = backoff
        self._healthy_s = healthy_s
        self._restarts = 0

    def delay(self, uptime_s: float) -> float:
        """The wait before the next restart of something that ran for `uptime_s`."""
        if uptime_s >= self._healthy_s:
            self._restarts = 0
        self._restarts += 1
        return self._backoff.delay(self._restarts)


class ChildProcess:
    """A component's process, logging to its own file and restartable after it exits."""

    def __init__(self, name: str, command: list[str], *, log_path: Path, env: dict[str, str]):
        self.name = name
        self.command = command
        self.log_path = log_path
        self.env = env
        self.backoff = RestartDelay()
        self.restart_at: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self._started_at

    def start(self) -> None:
        """Spawn the process in a new session, so a terminal's Ctrl-C reaches only the parent."""
        self.restart_at = None
        with append_private(self.log_path) as out:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            out.write(f"--- productops: starting {self.name} at {stamp} ---\n".encode())
            out.flush()
            self._process = subprocess.Popen(  # noqa: S603 - argv list, no shell
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent_hook(),  # the parent is single-threaded
            )
        self._started_at = time.monotonic()

    def exit_code(self) -> int | None:
        """The exit code once the process has ended (and been reaped), else None."""
        return self._process.poll() if self._process else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def terminate(self) -> None:
        """Ask the whole process group to stop (SIGTERM)."""
        if self.running():
            self._signal_group(signal.SIGTERM)

    def wait(self, timeout_s: float) -> bool:
        """Wait until the process has ended; True if it did within the timeout."""
        if self._process is None:
            return True
        try:
            self._process.wait(max(timeout_s, 0.0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the process group, including anything the child left behind."""
        self._signal_group(signal.SIGKILL)
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5.0)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the child's log file, for error reports."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(max(log.seek(0, os.SEEK_END) - 16_384, 0))
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._process is not None:
            # The child leads its own process group (new session), so its pid is the group id.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, sig)
