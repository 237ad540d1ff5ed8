"""The whole stack for a flow test: `productops up` as a real process tree on free ports,
driven through the gateway, and what a flow test reads besides HTTP (the broker's records
and consumer-group offsets, a service's own SQLite database)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.broker import free_port
from shared.stack.components import GATEWAY, service_names
from tests.stack.helpers import ROOT, project_env, wait_until
from tests.support import topic_partitions

UP_TIMEOUT_S = 120


@dataclass(frozen=True)
class RunningStack:
    """A stack started by `productops up`: where it answers and what it keeps."""

    gateway: str
    bootstrap: str
    data_dir: Path
    env: dict[str, str]

    @property
    def admin_key(self) -> str:
        return (self.data_dir / "admin.key").read_text().strip()

    def productops(self, *args: str) -> str:
        """Run a `productops` command against this stack; its standard output."""
        done = subprocess.run(
            [sys.executable, "-m", "shared.stack", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def query(self, service: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on a service's SQLite database (its inbox, its outbox)."""
        uri = f"file:{self.data_dir / f'{service}.db'}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return db.execute(sql, params).fetchall()


@contextmanager
def productops_up(tmp_path: Path, **env: str) -> Iterator[RunningStack]:
    """Every registered service and the gateway under `productops up`, stopped after the
    block (the supervisor must exit 0: every child stopped cleanly)."""
    data_dir = tmp_path / "var"
    ports = {name: free_port() for name in [*service_names(), GATEWAY, "broker"]}
    stack_env = project_env(
        PRODUCTOPS_DATA_DIR=str(data_dir),
        **{f"PRODUCTOPS_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **env,
    )
    out_path = tmp_path / "up.out"
    with out_path.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "shared.stack", "up", "--ready-timeout", "90"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=stack_env,
            cwd=ROOT,
        )
    try:
        wait_until(
            lambda: "ProductOps is up" in out_path.read_text() or supervisor.poll() is not None,
            UP_TIMEOUT_S,
            "the stack banner",
        )
        assert supervisor.poll() is None, out_path.read_text()
        yield RunningStack(
            gateway=f"http://127.0.0.1:{ports[GATEWAY]}",
            bootstrap=f"127.0.0.1:{ports['broker']}",
            data_dir=data_dir,
            env=stack_env,
        )
        supervisor.terminate()
        assert supervisor.wait(60) == 0, out_path.read_text()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait(10)


async def redeliver(bootstrap: str, topics: list[str]) -> int:
    """Write every record on `topics` again, to its own partition with its key, value and
    headers: each event arrives a second time with the same id, as after a lost commit."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = await topic_partitions(reader, topics)
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        unread = {tp for tp, end in ends.items() if end > 0}
        records = []
        while unread:
            for tp, batch in (await reader.getmany(timeout_ms=500)).items():
                records += [record for record in batch if record.offset < ends[tp]]
                if batch[-1].offset + 1 >= ends[tp]:
                    unread.discard(tp)
    finally:
        await reader.stop()
    writer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await writer.start()
    try:
        for record in records:
            await writer.send_and_wait(
                record.topic,
                value=record.value,
                key=record.key,
                partition=record.partition,
                headers=list(record.headers),
            )
    finally:
        await writer.stop()
    return len(records)
