"""The whole stack as real processes, with the handles a fault test pulls.

The broker is the test's own `EmbeddedBroker` (so the test can pause, kill and restart it on
the same port); the services and the gateway run under the `productops up` supervisor
(`tests.faults.launch`), which restarts a service the test kills. Each stack has its own
ports, data directory and databases, so stacks never share anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.auth import ADMIN, TokenSigner
from shared.broker import EmbeddedBroker, free_port
from shared.stack.components import GATEWAY, service_names
from tests.faults.flaky_feedback import SWITCH
from tests.stack.helpers import ROOT, project_env, wait_until
from tests.support import PrivatePostgres

ADMIN_KEY = "faults-admin-key-" + "a" * 40
JWT_SECRET = "faults-jwt-secret-" + "s" * 40

# Tuned so that one scenario stays lean: every fault below still outlasts the timeout it
# is meant to exceed (a broker pause longer than the relay's Kafka request timeout and the
# consumers' session timeout, a PostgreSQL outage longer than the consumer's retry budget).
STACK_SETTINGS = {
    "PRODUCTOPS_TOPIC_PARTITIONS": "3",
    "PRODUCTOPS_RELAY_POLL_S": "0.5",
    # The Kafka request timeout of the relay's producer.
    "PRODUCTOPS_RELAY_SEND_TIMEOUT_S": "3",
    "PRODUCTOPS_RELAY_MAX_BACKOFF_S": "2",
    "PRODUCTOPS_CONSUMER_SESSION_TIMEOUT_MS": "6000",
    "PRODUCTOPS_CONSUMER_STALL_S": "15",
    # The load driver is one caller sending hundreds of requests: the rate limiter is not
    # under test here.
    "PRODUCTOPS_RATE_LIMIT_PER_S": "1000",
    "PRODUCTOPS_RATE_LIMIT_BURST": "5000",
    "PRODUCTOPS_FEEDBACK_TRIAGE_POLL_S": "0.5",
    "PRODUCTOPS_FEEDBACK_METRICS_REFRESH_S": "1",
    # Triage retries (feedback's retry settings): a model outage of seconds is retried
    # within seconds of its end, and outlasts no event's tries.
    "PRODUCTOPS_FEEDBACK_TRIAGE_RETRY_FIRST_S": "1",
    "PRODUCTOPS_FEEDBACK_TRIAGE_RETRY_MAX_S": "3",
    "PRODUCTOPS_FEEDBACK_TRIAGE_MAX_ATTEMPTS": "20",
}
_STARTED = re.compile(r"(?:re)?started (\S+) pid=(\d+)")


@dataclass
class Replica:
    """A second process of one service (consumer and API, no relay), outside the supervisor."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout_s: float = 20.0) -> None:
        """Leave the consumer group the polite way (SIGTERM), as a scale-down does."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@dataclass
class FaultStack:
    """Broker, services and gateway for one scenario; `start()`, pull faults, `stop()`."""

    root: Path
    database_urls: dict[str, str] = field(default_factory=dict)
    # The private PostgreSQL holding `database_urls`, for scenarios that crash it.
    postgres: PrivatePostgres | None = None
    broker: EmbeddedBroker = field(init=False)
    data_dir: Path = field(init=False)
    ports: dict[str, int] = field(init=False)
    services: list[str] = field(init=False)
    replicas: list[Replica] = field(default_factory=list, init=False)
    _supervisor: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _frozen: set[int] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.data_dir = self.root / "var"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.services = service_names()
        self.ports = {name: free_port() for name in [*self.services, GATEWAY]}
        self.broker = EmbeddedBroker(log_path=self.root / "broker.log")
        self.out_path = self.root / "supervisor.out"

    # --- where things are ----------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The environment of every process of this stack."""
        values = {
            **STACK_SETTINGS,
            "PRODUCTOPS_DATA_DIR": str(self.data_dir),
            "PRODUCTOPS_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "PRODUCTOPS_ADMIN_KEY": ADMIN_KEY,
            "PRODUCTOPS_JWT_SECRET": JWT_SECRET,
            **{f"PRODUCTOPS_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
            **{
                f"PRODUCTOPS_{name.upper()}_DATABASE_URL": url
                for name, url in self.database_urls.items()
            },
        }
        return project_env(**values)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def database_url(self, name: str) -> str:
        """The database of a service or the gateway, as its processes see it."""
        default = f"sqlite+aiosqlite:///{(self.data_dir / f'{name}.db').resolve()}"
        return self.database_urls.get(name, default)

    @property
    def output(self) -> str:
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def pid(self, name: str) -> int:
        """The pid of a component's current process, as the supervisor reported it."""
        pids = [int(pid) for who, pid in _STARTED.findall(self.output) if who == name]
        assert pids, f"the supervisor reported no pid for {name}:\n{self.output}"
        return pids[-1]

    # --- life cycle ----------------------------------------------------------------------

    def start(self, timeout_s: float = 150.0) -> None:
        """Start the broker, then the supervisor, and wait for its "is up" banner."""
        self.broker.start()
        with self.out_path.open("wb") as out:
            self._supervisor = subprocess.Popen(
                [sys.executable, "-m", "tests.faults.launch"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
            )
        supervisor = self._supervisor

        def up() -> bool:
            assert supervisor.poll() is None, f"the stack did not come up:\n{self.output}"
            return "ProductOps is up" in self.output

        wait_until(up, timeout_s, "the stack to come up")

    def stop(self) -> None:
        """Stop everything this stack started, also after a failed test."""
        for pid in list(self._frozen):
            self.thaw_pid(pid)
        for replica in self.replicas:
            replica.stop()
        if self._supervisor is not None and self._supervisor.poll() is None:
            self._supervisor.send_signal(signal.SIGTERM)
            try:
                self._supervisor.wait(40)
            except subprocess.TimeoutExpired:
                self._supervisor.kill()
                self._supervisor.wait(10)
        self.broker.stop()

    # --- faults --------------------------------------------------------------------------

    def kill(self, name: str) -> int:
        """SIGKILL a component's process (the supervisor starts a new one); returns its pid."""
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def freeze(self, name: str) -> None:
        """Stop a component's process (SIGSTOP): its sockets stay open, nothing answers."""
        pid = self.pid(name)
        os.kill(pid, signal.SIGSTOP)
        self._frozen.add(pid)

    def thaw(self, name: str) -> None:
        self.thaw_pid(self.pid(name))

    def thaw_pid(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        self._frozen.discard(pid)

    def kill_broker(self) -> None:
        """SIGKILL the broker: it keeps everything in memory, so all of it is lost."""
        pid = self.broker.pid
        assert pid is not None
        assert self.broker.alive()
        os.kill(pid, signal.SIGKILL)
        self.broker.stop()  # reaps it

    def switch_triage(self, *, down: bool) -> None:
        """Make the feedback service's triage model fail (down) or work again."""
        switch = self.data_dir / SWITCH
        if down:
            switch.touch()
        else:
            switch.unlink(missing_ok=True)

    def add_replica(self, name: str) -> Replica:
        """Start a second process of `name` that joins its consumer group (no relay: one
        relay per database)."""
        port = free_port()
        env = self.env | {
            f"PRODUCTOPS_{name.upper()}_PORT": str(port),
            "PRODUCTOPS_RUN_RELAY": "false",
        }
        env["PYTHONUNBUFFERED"] = "1"
        log_path = self.root / f"{name}-replica.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "shared.stack", "serve", name],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )
        replica = Replica(name=name, port=port, process=process, log_path=log_path)
        self.replicas.append(replica)
        return replica

    # --- probes --------------------------------------------------------------------------

    async def readyz(self, client: httpx.AsyncClient, name: str, port: int | None = None) -> Any:
        """A component's `/readyz` body, or None when it does not answer."""
        url = f"http://127.0.0.1:{port or self.ports[name]}/readyz"
        # Only a caller with a token sees the details (backlog, lag), not just the verdict.
        probe = TokenSigner(JWT_SECRET).issue(
            subject="faults-probe", name="probe", owner="faults", scopes=frozenset({ADMIN})
        )
        try:
            response = await client.get(
                url, headers={"Authorization": f"Bearer {probe}"}, timeout=3.0
            )
        except httpx.HTTPError:
            return None
        return response.json()

    async def wait_replica_ready(self, client: httpx.AsyncClient, replica: Replica) -> None:
        """Until the replica answers ready (database and broker reachable)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert replica.process.poll() is None, replica.log_path.read_text(errors="replace")
            body = await self.readyz(client, replica.name, replica.port)
            if body is not None and body.get("status") == "ready":
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"the {replica.name} replica did not become ready")


@contextlib.contextmanager
def running_stack(
    root: Path,
    *,
    database_urls: dict[str, str] | None = None,
    postgres: PrivatePostgres | None = None,
) -> Iterator[FaultStack]:
    """A started stack, stopped after the block whatever happened in it."""
    stack = FaultStack(root, database_urls=database_urls or {}, postgres=postgres)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
