"""The development set (`data/dev_texts.jsonl`): written texts the model may be fitted and
tuned on, unlike the frozen fresh set.

Twelve product types that neither the seed nor the fresh set covers, labelled like the fresh
set (category, severity, hazard); see `data/DEV_TEXTS.md` for how it was written and how it
is used. Thresholds and settings are chosen by leaving one product type out at a time
(`evaluate --dev`), and the shipped classifiers are fitted on all of it.
"""

from __future__ import annotations

from pathlib import Path

from services.feedback.triage.fresh import FreshItem, load_fresh

DEV_PATH = Path(__file__).parent / "data" / "dev_texts.jsonl"


def load_dev(path: Path = DEV_PATH) -> list[FreshItem]:
    """All items of the development set, in file order (the fresh set's shape)."""
    return load_fresh(path)
