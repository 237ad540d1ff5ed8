"""What the data-set tests share: reading a JSON-lines set, and checking that a set is the
file its card names (the card records its sha256; any edit would change it)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any


def rows(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSON-lines data set, parsed."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_card_names_the_file(path: Path, card: Path) -> None:
    """The sha256 recorded in `card` is the digest of `path`."""
    recorded = re.search(r"sha256: `([0-9a-f]{64})`", card.read_text(encoding="utf-8"))
    assert recorded is not None, f"{card.name} must record the set's sha256"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded.group(1)
