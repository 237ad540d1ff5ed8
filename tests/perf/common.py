"""What every benchmark script shares: percentiles, service processes, scratch databases."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import asyncpg
import httpx

from shared.auth import ADMIN, TokenSigner
from shared.broker import free_port

SECRET = "bench-secret-" + "b" * 40
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def probe_headers() -> dict[str, str]:
    """A token for `/readyz`: only a caller with one sees its details, not just the verdict."""
    token = TokenSigner(SECRET).issue(
        subject="bench-probe", name="probe", owner="bench", scopes=frozenset({ADMIN})
    )
    return {"Authorization": f"Bearer {token}"}


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def line(label: str, samples: list[float]) -> None:
    """Print one latency row: p50, p99, max and the sample count."""
    print(
        f"  {label:<44} p50 {ms(pct(samples, 50))}   p99 {ms(pct(samples, 99))}"
        f"   max {ms(max(samples))}   n={len(samples)}"
    )


async def timed(n: int, concurrency: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    """Run `call(i)` for i in range(n) with `concurrency` workers; per-call latencies."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


class ServiceProcess:
    """`productops serve NAME` as a real process on a free port, its log in `data_dir`."""

    def __init__(
        self,
        name: str,
        data_dir: Path,
        *,
        database_url: str,
        bootstrap: str,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        prefix = f"PRODUCTOPS_{name.upper()}"
        env = {
            **os.environ,
            "PRODUCTOPS_DATA_DIR": str(data_dir),
            f"{prefix}_PORT": str(self.port),
            f"{prefix}_DATABASE_URL": database_url,
            "PRODUCTOPS_KAFKA_BOOTSTRAP": bootstrap,
            "PRODUCTOPS_JWT_SECRET": SECRET,
            "PRODUCTOPS_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.name = name
        self.log = (data_dir / f"{name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared.stack", "serve", name],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} did not become ready")

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far, user and system (Linux's /proc): a figure
        that moves less than wall time with what else the machine runs."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


async def postgres_url() -> str | None:
    """A fresh scratch database, or None when PostgreSQL does not answer."""
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None
    name = f"po_bench_{uuid.uuid4().hex[:8]}"
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_postgres(url: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()
