"""Pinned files: refuse a model or tokenizer whose sha256 is not the one reviewed."""

from __future__ import annotations

import hashlib
from pathlib import Path


class ModelIntegrityError(RuntimeError):
    """A model or tokenizer file is not the one pinned: refuse to run it."""


def read_verified(path: Path, sha256: str) -> bytes:
    """The bytes of `path`, or ModelIntegrityError when their sha256 is not `sha256`."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelIntegrityError(f"{path}: sha256 {digest} is not the pinned {sha256}")
    return data
