"""The frozen fresh evaluation sets (`data/fresh_eval.jsonl`, `data/fresh_eval_2.jsonl` to
`data/fresh_eval_10.jsonl`, issue 15): measuring only.

Each was written from the label definitions alone, by an author who had not read the rules,
over product types the seed does not cover; none is used to fit the model or to write rules
(see `data/FRESH_EVAL*.md`). Each line is a seed line plus `hazard` / `hazard_type`, with the
product named in `product_type`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.feedback.triage.labels import Category, Severity
from services.feedback.triage.seed import SeedItem

FRESH_PATH = Path(__file__).parent / "data" / "fresh_eval.jsonl"
# One file per round of candidates, each written after the one before had judged a candidate.
FRESH_PATHS = (FRESH_PATH, *(FRESH_PATH.with_name(f"fresh_eval_{n}.jsonl") for n in range(2, 15)))


@dataclass(frozen=True)
class FreshItem(SeedItem):
    """A seed-shaped item that also says whether it reports a safety hazard, and which."""

    hazard: bool = False
    hazard_type: str | None = None


def load_fresh(path: Path = FRESH_PATH) -> list[FreshItem]:
    """All items of the fresh set, in file order."""
    items = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                row["product"] = row.pop("product_type")
                row["category"] = Category(row["category"])
                row["severity"] = Severity(row["severity"])
                items.append(FreshItem(**row))
    return items
