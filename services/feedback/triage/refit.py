"""Refit the triage classifiers with people's corrections, on demand only.

    python -m services.feedback.triage.refit [--database-url URL] [--fitted PATH]

Reads the corrections kept in the feedback database (`triage_label`, the latest label of each
item), fits the category and hazard classifiers on the seed's train part, their development
sets (`dev.SERVED_DEV_PATHS`, `dev.HAZARD_DEV_PATHS`), those corrections and, for the hazard,
the written hazard descriptions, and prints the frozen evaluation
(`data/fresh_eval*.jsonl`, the sets together and each alone) of the model served now
and of the refitted one. The refitted parameters replace `model/fitted.npz` (with their
sha256 in `model/fitted.json`) only when no figure of the sets together gets worse;
every replica loads that file, so all serve the same model after their next start. "Served
now" is judged twice: as the served parameters read under this code, and as `fitted.json`
recorded them when they were written (on the same frozen sets); when the code has changed
since, the two differ, and the refitted model must be not worse than the better of each
figure. The frozen sets only measure: nothing is fitted or tuned on them. Exit status 0 when
the new model was kept, 1 when it was not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import select

from services.feedback.tables import triage_label
from services.feedback.triage.dev import HAZARD_DEV_PATHS, SERVED_DEV_PATHS
from services.feedback.triage.encoder import Encoder
from services.feedback.triage.evaluate import (
    FrozenFigures,
    frozen_figures_by_set,
    frozen_set_digests,
)
from services.feedback.triage.fitted import FITTED_PATH, Fitted, manifest_path, save_fitted
from services.feedback.triage.labels import Category, TriageInput
from services.feedback.triage.pipeline import (
    Correction,
    ModelTriage,
    fit_classifiers,
    shipped_triage,
)
from services.feedback.triage.remembering import RememberingEncoder
from shared.db import Database
from shared.settings import Settings


async def load_corrections(database_url: str) -> list[Correction]:
    """The latest label of each labelled item, oldest item first."""
    db = Database(database_url)
    try:
        async with db.read_sessions() as session:
            rows = (
                await session.execute(
                    select(triage_label).order_by(triage_label.c.labelled_at, triage_label.c.id)
                )
            ).all()
    finally:
        await db.dispose()
    latest = {row.item_id: row for row in rows}
    return [
        Correction(
            item=TriageInput(
                kind=row.kind,
                text=row.text,
                rating=row.rating,
                subject=row.subject,
                reason=row.reason,
                priority=row.priority,
            ),
            category=Category(row.category),
            hazard=row.hazard,
        )
        for row in latest.values()
    ]


def refit(corrections: Sequence[Correction], *, fitted_path: Path = FITTED_PATH) -> bool:
    """Fit with the corrections, print the frozen figures before and after, and write the
    new parameters when they are not worse; returns whether they were kept."""
    shipped = shipped_triage(fitted_path=fitted_path)
    # Both models read the same texts: the encoder's work is done once.
    encoder = RememberingEncoder(shipped.encoder)
    current = ModelTriage(encoder=encoder, classifier=shipped.classifier, hazard=shipped.hazard)
    fitted = fit_classifiers(encoder, corrections=corrections)
    candidate = ModelTriage(encoder=encoder, classifier=fitted.category, hazard=fitted.hazard)
    before, before_each = frozen_figures_by_set(current)
    after, after_each = frozen_figures_by_set(candidate)
    print(f"corrections: {len(corrections)}")
    for name in before_each:
        print(f"  {name}, served now: {before_each[name].line()}")
        print(f"  {name}, refitted:   {after_each[name].line()}")
    print(f"frozen evaluation, served now: {before.line()}")
    recorded = recorded_figures(fitted_path)
    if recorded is not None:
        print(f"  as recorded when written:    {recorded.line()}")
        if recorded != before:
            print("  (the code has changed since: judged against the better of each figure)")
        before = before.best_of(recorded)
    print(f"frozen evaluation, refitted:   {after.line()}")
    if not after.not_worse_than(before):
        print("kept the served model: the refitted one is worse on the frozen evaluation")
        return False
    digest = save_fitted(
        Fitted(category=fitted.category, hazard=fitted.hazard),
        fitted_path,
        fitted_on=(
            "category: seed train part, "
            + ", ".join(f"data/{path.name}" for path in SERVED_DEV_PATHS)
            + ", corrections; hazard: the mean of two fits on the seed train part, "
            + ", ".join(f"data/{path.name}" for path in HAZARD_DEV_PATHS)
            + " (the first) or the category's development sets (the second),"
            + " data/hazard_descriptions.jsonl, sentences of their safe texts, corrections"
        ),
        corrections=len(corrections),
        # Fitted on what the served encoder reads (Encoder(int8_products=...)).
        encoder_products="int8"
        if isinstance(shipped.encoder, Encoder) and shipped.encoder.int8_products
        else "float32",
        frozen_sets=frozen_set_digests(),
        frozen_evaluation=asdict(after),
    )
    print(f"wrote {fitted_path} (sha256 {digest}); replicas serve it after their next start")
    return True


def recorded_figures(fitted_path: Path) -> FrozenFigures | None:
    """The frozen figures `fitted.json` recorded for the served parameters, when they were
    taken on the frozen sets there are now (None otherwise: other sets are no yardstick)."""
    about = json.loads(manifest_path(fitted_path).read_text(encoding="utf-8"))
    if about.get("frozen_sets") != frozen_set_digests() or "frozen_evaluation" not in about:
        return None
    return FrozenFigures(**about["frozen_evaluation"])


def main(argv: Sequence[str] = ()) -> int:
    """Refit from the feedback database's corrections (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m services.feedback.triage.refit")
    parser.add_argument("--database-url", help="the feedback database (default: settings)")
    parser.add_argument("--fitted", type=Path, default=FITTED_PATH, help="the fitted file")
    args = parser.parse_args(argv)
    url = args.database_url or Settings().database_url("feedback")
    corrections = asyncio.run(load_corrections(url))
    return 0 if refit(corrections, fitted_path=args.fitted) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
