"""The labelled seed set (`data/seed.jsonl`) and its deterministic train / held-out split.

Each line: {id, product, kind, rating?, subject?, reason?, priority?, text, category, severity,
problem?}. `problem` names one problem of one product (e.g. "kt-lid-burn"); items that share it
are paraphrases that should land in one finding. The split hashes the id, so adding items never
moves existing ones between train and held-out; the classifier sees only the train part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from services.feedback.triage.labels import Category, Severity, TriageInput

SEED_PATH = Path(__file__).parent / "data" / "seed.jsonl"
TRAIN_PERCENT = 70


@dataclass(frozen=True)
class SeedItem:
    """One labelled customer text."""

    id: str
    product: str
    kind: str
    text: str
    category: Category
    severity: Severity
    rating: int | None = None
    subject: str | None = None
    reason: str | None = None
    priority: str | None = None
    problem: str | None = None

    def as_input(self) -> TriageInput:
        """The item as triage receives it (no labels)."""
        return TriageInput(
            kind=self.kind,
            text=self.text,
            rating=self.rating,
            subject=self.subject,
            reason=self.reason,
            priority=self.priority,
        )


def load_seed(path: Path = SEED_PATH) -> list[SeedItem]:
    """All items of a seed file, in file order."""
    items = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                row["category"] = Category(row["category"])
                row["severity"] = Severity(row["severity"])
                items.append(SeedItem(**row))
    return items


def is_train(item_id: str) -> bool:
    """Whether an item belongs to the train part (about TRAIN_PERCENT % of ids)."""
    bucket = int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return bucket < TRAIN_PERCENT


def split(items: Iterable[SeedItem]) -> tuple[list[SeedItem], list[SeedItem]]:
    """(train, held_out), each in the given order."""
    train: list[SeedItem] = []
    held_out: list[SeedItem] = []
    for item in items:
        (train if is_train(item.id) else held_out).append(item)
    return train, held_out
