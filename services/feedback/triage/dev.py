"""The development sets (`data/dev_texts.jsonl`, `data/dev_texts_2.jsonl`): written texts the
model may be fitted and tuned on, unlike the frozen fresh set.

Twenty-two product types between them that neither the seed nor the fresh set covers (twelve in
the first, ten more in the second), labelled like the fresh set (category, severity, hazard);
see `data/DEV_TEXTS.md` and `data/DEV_TEXTS_2.md` for how each was written and how it is used.
Thresholds and settings are chosen by leaving one product type out at a time over both
(`evaluate --dev`), and the shipped classifiers are fitted on all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.feedback.triage.fresh import FreshItem, load_fresh

DATA_DIR = Path(__file__).parent / "data"
DEV_PATH = DATA_DIR / "dev_texts.jsonl"
DEV_2_PATH = DATA_DIR / "dev_texts_2.jsonl"
DEV_PATHS = (DEV_PATH, DEV_2_PATH)


def load_dev(paths: Sequence[Path] = DEV_PATHS) -> list[FreshItem]:
    """All items of the development sets, file by file in file order (the fresh set's shape)."""
    return [item for path in paths for item in load_fresh(path)]
