"""Several processes of one component side by side, as a scale-out runs them.

Every process is `python -m shared.stack serve NAME` with its own port and log, and all of
a component's processes share its database (PostgreSQL) and its consumer group on the
test's own embedded broker. There is no supervisor: a process stopped stays stopped, so a
test can watch the others take over its work. The cluster answers what the fault suite's
ledger asks of a stack (`url`, `readyz`, `database_url`, `broker`), with `feedback` being
whichever member `primary` names.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.auth import ADMIN, TokenSigner
from shared.broker import EmbeddedBroker, free_port
from shared.stack.components import service_names
from tests.faults.stack import ADMIN_KEY, JWT_SECRET, STACK_SETTINGS
from tests.stack.helpers import ROOT, project_env

READY_TIMEOUT_S = 120.0


@dataclass
class Member:
    """One process of a component."""

    label: str
    component: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM, as a scale-down does: the consumer leaves its group, the relay lets go
        of its lock; SIGKILL only if it does not end in time."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@dataclass
class Cluster:
    """A broker and the members a test spawns; `stop()` ends every one of them."""

    root: Path
    database_urls: dict[str, str]
    # Extra `PRODUCTOPS_*` settings of every process (rate limits, Redis, ...).
    settings: dict[str, str] = field(default_factory=dict)
    broker: EmbeddedBroker = field(init=False)
    members: list[Member] = field(default_factory=list, init=False)
    # The member of each component that `url(component)` answers with.
    primary: dict[str, Member] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.broker = EmbeddedBroker(log_path=self.root / "broker.log")
        # Every component gets a port up front: a gateway reaches the ones it routes to there
        # unless a spawn says otherwise (a component never started just does not answer).
        self.ports = {name: free_port() for name in [*service_names(), "gateway"]}

    def start(self) -> None:
        self.broker.start()

    def env(self, component: str, port: int, **extra: str) -> dict[str, str]:
        """The environment of one member: the shared settings, its own port, `extra`."""
        values = {
            **STACK_SETTINGS,
            "PRODUCTOPS_DATA_DIR": str(self.root / "var"),
            "PRODUCTOPS_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "PRODUCTOPS_ADMIN_KEY": ADMIN_KEY,
            "PRODUCTOPS_JWT_SECRET": JWT_SECRET,
            **{f"PRODUCTOPS_{name.upper()}_PORT": str(p) for name, p in self.ports.items()},
            **{
                f"PRODUCTOPS_{name.upper()}_DATABASE_URL": url
                for name, url in self.database_urls.items()
            },
            **self.settings,
            f"PRODUCTOPS_{component.upper()}_PORT": str(port),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
        return project_env(**values)

    def spawn(self, component: str, label: str | None = None, **extra: str) -> Member:
        """Start one more process of `component`; the first of each becomes its primary.
        `extra`: settings of this member only (e.g. the port of the feedback it routes to)."""
        label = label or component
        port = self.ports[component] if component not in self.primary else free_port()
        log_path = self.root / f"{label}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "shared.stack", "serve", component],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(component, port, **extra),
                cwd=ROOT,
                start_new_session=True,
            )
        member = Member(label, component, port, process, log_path)
        self.members.append(member)
        self.primary.setdefault(component, member)
        return member

    def stop(self) -> None:
        """Stop every member (also after a failed test), then the broker."""
        for member in self.members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member.process.pid, signal.SIGCONT)
            member.stop()
        self.broker.stop()

    # --- what the ledger asks ------------------------------------------------------------

    def url(self, name: str) -> str:
        return self.primary[name].url

    def database_url(self, name: str) -> str:
        return self.database_urls[name]

    async def readyz(self, client: httpx.AsyncClient, name: str, port: int | None = None) -> Any:
        """A member's `/readyz` body (the primary's unless `port`), or None if it does not
        answer."""
        url = f"http://127.0.0.1:{port or self.primary[name].port}/readyz"
        # Only a caller with a token sees the details (partitions, relay), not just the verdict.
        probe = TokenSigner(JWT_SECRET).issue(
            subject="scale-probe", name="probe", owner="scale", scopes=frozenset({ADMIN})
        )
        try:
            response = await client.get(
                url, headers={"Authorization": f"Bearer {probe}"}, timeout=3.0
            )
        except httpx.HTTPError:
            return None
        return response.json()

    async def wait_ready(self, client: httpx.AsyncClient, *members: Member) -> None:
        """Until each member answers ready (database and broker reachable, consumer joined)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        for member in members:
            while True:
                assert member.process.poll() is None, f"{member.label} ended:\n{member.log}"
                body = await self.readyz(client, member.component, member.port)
                if body is not None and body.get("status") == "ready":
                    break
                assert time.monotonic() < deadline, f"{member.label} not ready: {body}"
                await asyncio.sleep(0.5)
