"""What every benchmark script shares: percentiles, service processes, scratch databases."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc; 0 elsewhere): a figure
    that moves less than wall time with what else the machine runs."""
    return _stat_cpu(Path(f"/proc/{pid}/stat"))


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every process of every user."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int, tid: int) -> float:
    """The same for one thread of a process (its main thread's id is the process's)."""
    return _stat_cpu(Path(f"/proc/{pid}/task/{tid}/stat"))


def _stat_cpu(stat: Path) -> float:
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def line(label: str, samples: list[float]) -> None:
    """Print one latency row: p50, p99, max and the sample count (and keep p50 and p99 as
    figures of the run, see `record`)."""
    print(
        f"  {label:<44} p50 {ms(pct(samples, 50))}   p99 {ms(pct(samples, 99))}"
        f"   max {ms(max(samples))}   n={len(samples)}"
    )
    figure(f"{label} p50", pct(samples, 50) * 1000, "ms")
    figure(f"{label} p99", pct(samples, 99) * 1000, "ms")


# The figures of this run, in the order they were taken: name -> {"value", "unit"}. A module
# global because the benchmark scripts print from many small functions; `record` writes and
# empties it.
_FIGURES: dict[str, dict[str, Any]] = {}
_SECTION: list[str] = []
_LOAD_AT_START: list[tuple[float, float, float]] = []
BENCH_DIR = Path("var/bench")


def load_average() -> tuple[float, float, float]:
    """The machine's 1, 5 and 15 minute load averages (other users' work included)."""
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def section(title: str) -> None:
    """Print a section header; the figures taken after it are named under it."""
    print(f"\n== {title}")
    _SECTION[:] = [title]


def figure(name: str, value: float, unit: str = "") -> None:
    """Keep one figure of this run for `record` (units: "ms", "s", "/s", "x" or "")."""
    if not _LOAD_AT_START:
        _LOAD_AT_START.append(load_average())
    full = f"{_SECTION[0]}: {name}" if _SECTION else name
    # The same label twice (a bench run on SQLite then PostgreSQL without a section): keep
    # both, in order, so two runs still line up figure by figure.
    key, repeat = full, 1
    while key in _FIGURES:
        repeat += 1
        key = f"{full} ({repeat})"
    _FIGURES[key] = {"value": round(value, 4), "unit": unit}


def record(bench: str, *, directory: Path | None = None, **settings: Any) -> Path:
    """Write this run's figures to `var/bench/<bench>-<UTC timestamp>.json` with what is
    needed to judge them: commit, date, cores, the CPU, Python, the load average at the first
    figure and at the end, and the bench's own settings; then start afresh. Returns the file."""
    now = datetime.now(UTC)
    result: dict[str, Any] = {
        "bench": bench,
        "date": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "commit": _commit(),
        "machine": {
            "cores": os.cpu_count(),
            **cpu(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_start": list(_LOAD_AT_START[0] if _LOAD_AT_START else load_average()),
            "load_average_end": list(load_average()),
        },
        "settings": settings,
        "figures": dict(_FIGURES),
    }
    target = directory or BENCH_DIR
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{bench}-{now.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    _FIGURES.clear()
    _SECTION.clear()
    _LOAD_AT_START.clear()
    print(f"\n(figures in {path}; load average {result['machine']['load_average_end']})")
    return path


# Instruction sets that change the figures: VNNI decides which kernel multiplies the triage
# encoder's int8 products (services/feedback/triage/int8_matmul.py), AVX-VNNI and AMX-INT8
# are the other int8 instructions of x86, and machines here that share a model name ("AMD
# EPYC") differ in them.
_CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """The processor, as `record` writes it: its model name with family and model numbers,
    and which of `_CPU_FLAGS` it has; the platform's processor name where there is no
    /proc/cpuinfo."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return {"cpu": platform.processor() or "unknown", "cpu_flags": []}
    first_processor = text.split("\n\n")[0].splitlines()
    first = {
        key.strip(): value.strip()
        for key, _, value in (line.partition(":") for line in first_processor)
    }
    flags = set(first.get("flags", "").split())
    name = first.get("model name", platform.processor() or "unknown")
    if "cpu family" in first and "model" in first:
        name += f" (family {first['cpu family']}, model {first['model']})"
    return {"cpu": name, "cpu_flags": [flag for flag in _CPU_FLAGS if flag in flags]}


def _commit() -> str:
    """The commit measured, marked `+dirty` when the work tree has uncommitted changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


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


class CollectorPauses:
    """The garbage collector's runs while this context is open: how many per generation
    and the longest pause of each, for a bench timing an app in its own process, where a
    collection is part of the latency of the call it interrupts."""

    def __init__(self) -> None:
        self.runs = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __enter__(self) -> CollectorPauses:
        gc.callbacks.append(self._observe)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.runs[generation] += 1
        self.longest[generation] = max(
            self.longest[generation], time.perf_counter() - self._started
        )


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
        """CPU time the process has used so far (`cpu_seconds`)."""
        return cpu_seconds(self.process.pid)

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


async def optional_postgres(*, skipped: bool) -> str | None:
    """A fresh scratch database for a bench that runs on SQLite and then on PostgreSQL,
    unless `skipped` (`--no-postgres`); None, said aloud, when PostgreSQL does not answer."""
    if skipped:
        return None
    url = await postgres_url()
    if url is None:
        print("\n== PostgreSQL not reachable: skipped")
    return url


async def required_postgres() -> str:
    """A fresh scratch database for a bench asked to run on PostgreSQL (`--postgres`): when
    PostgreSQL does not answer the bench stops, never running on SQLite instead."""
    url = await postgres_url()
    if url is None:
        raise SystemExit(f"--postgres: PostgreSQL does not answer ({PG_DSN})")
    return url


async def drop_postgres(url: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()
