"""Files only their owner may read: the data directory (0700), and the SQLite databases,
secrets and logs in it (0600). Other users of the machine must not read API key hashes,
the JWT secret or the logs (issue 12, finding 10)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) and make it 0700: data dirs made before this
    rule are tightened too."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing, and make it 0600 (SQLite gives its -wal and -shm
    files the mode of the database file)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    path.chmod(FILE_MODE)
    return path


def append_private(path: Path) -> BinaryIO:
    """Open a log for appending, created 0600 (and tightened if it already existed)."""
    return os.fdopen(os.open(private_file(path), os.O_WRONLY | os.O_APPEND), "ab")
