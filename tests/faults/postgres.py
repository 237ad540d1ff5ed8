"""A private PostgreSQL server for fault tests: started, crashed and restarted at will.

A fault test must never stop the machine's shared instance on 5432, so this one runs from a
temporary cluster on a free loopback port, as the `postgres` user (root switches to it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import asyncpg

from shared.broker import free_port


class PrivatePostgres:
    """One throw-away cluster: `init()`, `start()`, `stop()` (a crash by default), `destroy()`."""

    BIN = Path(os.environ.get("PRODUCTOPS_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self) -> None:
        self.port = free_port()
        # Not under pytest's tmp_path: its parents are root's alone, and the server runs as
        # `postgres`, which must reach its data and socket directory.
        self.root = Path(tempfile.mkdtemp(prefix="po-faults-pg-"))
        self.data = self.root / "data"

    @classmethod
    def unavailable(cls) -> str | None:
        """Why a private server cannot run here, or None when it can."""
        if os.geteuid() != 0:
            return "a private PostgreSQL needs root (to run the server as the postgres user)"
        if not (cls.BIN / "pg_ctl").exists() or shutil.which("runuser") is None:
            return f"no PostgreSQL binaries in {cls.BIN}, or no runuser"
        return None

    def init(self) -> None:
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        """Start, and wait until it accepts connections (`pg_ctl -w`)."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop; `immediate` drops every connection at once and recovers at the next start,
        as after a crash."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    def destroy(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_postgres(self, program: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.BIN / program), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )
