"""The development sets (`data/dev_texts.jsonl` to `data/dev_texts_5.jsonl`): written texts
the model may be fitted and tuned on, unlike the frozen fresh sets.

Fifty-eight product types between them that neither the seed nor a frozen set covers (twelve
in the first, ten in the second, twelve in each of the others), labelled like the frozen sets
(category, severity, hazard); each set's card (`data/DEV_TEXTS*.md`) says how it was written
and how it is used. `evaluate --dev` measures a model by leaving one product type
of them out at a time. The category classifier is fitted on all of them (`SERVED_DEV_PATHS`);
the hazard classifier is the mean of a fit on the first only (`HAZARD_DEV_PATHS`; MODEL.md,
"Sixth round") and a fit on all of them ("Fourteenth round").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.feedback.triage.fresh import FreshItem, load_fresh

DATA_DIR = Path(__file__).parent / "data"
DEV_PATH = DATA_DIR / "dev_texts.jsonl"
DEV_PATHS = (
    DEV_PATH,
    DATA_DIR / "dev_texts_2.jsonl",
    DATA_DIR / "dev_texts_3.jsonl",
    DATA_DIR / "dev_texts_4.jsonl",
    DATA_DIR / "dev_texts_5.jsonl",
)
SERVED_DEV_PATHS = DEV_PATHS
HAZARD_DEV_PATHS = (DEV_PATH,)


def load_dev(paths: Sequence[Path] = DEV_PATHS) -> list[FreshItem]:
    """All items of the development sets, set by set in file order (the fresh sets' shape)."""
    return [item for path in paths for item in load_fresh(path)]
