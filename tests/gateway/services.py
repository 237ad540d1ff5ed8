"""The real services as processes (`python -m services.<name>`), for the composed views'
tests and the gateway benchmark: one can be frozen with SIGSTOP, like a hung server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from shared.broker import die_with_parent_hook, free_port
from tests.stack.helpers import ROOT, project_env, wait_until
from tests.support import TEST_SECRET

ADMIN_KEY = "admin-key-" + "k" * 40


class ServiceProcess:
    """One service (or the gateway: `module="gateway"`) on its own port, its output in
    `<data_dir>/<name>.log`."""

    def __init__(
        self, name: str, *, data_dir: Path, bootstrap: str, module: str | None = None, **env: str
    ) -> None:
        self.name = name
        self.data_dir = data_dir
        self.module = module or f"services.{name}"
        self.port = free_port()
        self.log_path = data_dir / f"{name}.log"
        self._env = project_env(
            PRODUCTOPS_DATA_DIR=str(data_dir),
            PRODUCTOPS_KAFKA_BOOTSTRAP=bootstrap,
            PRODUCTOPS_JWT_SECRET=TEST_SECRET,
            PRODUCTOPS_ADMIN_KEY=ADMIN_KEY,
            PRODUCTOPS_TOPIC_PARTITIONS="3",
            PRODUCTOPS_RELAY_POLL_S="0.2",
            PRODUCTOPS_CONSUMER_SESSION_TIMEOUT_MS="6000",
            PRODUCTOPS_FEEDBACK_TRIAGE_POLL_S="0.1",
            PRODUCTOPS_LOG_LEVEL="WARNING",
            **{f"PRODUCTOPS_{name.upper()}_PORT": str(self.port)},
            **env,
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        """Its own SQLite database, where nothing else points it (`Settings.database_url`)."""
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.name}.db').resolve()}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=ROOT,
                # A service must not outlive a killed test run.
                preexec_fn=die_with_parent_hook(),
            )

    def wait_healthy(self, timeout_s: float = 90) -> None:
        wait_until(self._healthy, timeout_s, f"{self.name} to answer /healthz")

    def _healthy(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1, trust_env=False).is_success
        except httpx.HTTPError:
            return False

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP for the block: connections are accepted by the kernel, nothing answers."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self._process.pid, signal.SIGCONT)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def running_services(
    names: Sequence[str], *, data_dir: Path, bootstrap: str
) -> Iterator[dict[str, ServiceProcess]]:
    """Start the services, all before waiting for any; stop them all after the block."""
    data_dir.mkdir(parents=True, exist_ok=True)
    started = {name: ServiceProcess(name, data_dir=data_dir, bootstrap=bootstrap) for name in names}
    try:
        for service in started.values():
            service.start()
        for service in started.values():
            service.wait_healthy()
        yield started
    finally:
        for service in started.values():
            service.stop()
