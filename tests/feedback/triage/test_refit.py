"""The fitted file every replica loads, and the on-demand refit that writes it only when the
frozen evaluation does not get worse."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.feedback.tables import feedback_item, finding, metadata, triage_label
from services.feedback.triage import Category, ModelIntegrityError, TriageInput
from services.feedback.triage.dev import load_dev
from services.feedback.triage.encoder import Encoder
from services.feedback.triage.evaluate import FrozenFigures, frozen_set_digests
from services.feedback.triage.fitted import FITTED_PATH, load_fitted, manifest_path, save_fitted
from services.feedback.triage.hazard import (
    HAZARD_THRESHOLD,
    hazard_probability,
    load_descriptions,
)
from services.feedback.triage.pipeline import (
    Correction,
    ModelTriage,
    features,
    fit_classifiers,
)
from services.feedback.triage.refit import load_corrections, recorded_figures, refit
from services.feedback.triage.rules import compose_text
from shared.db import Database

# A refit on another CPU is not the same to float32 rounding: onnxruntime's float kernels
# differ by instruction set, and the encoder's readings with them. Measured on 2026-12-01 on
# an AVX2 machine against the file fitted on a VNNI one (MODEL.md, "The same readings on
# every CPU"): the category's feature mean and spread moved 2.7e-5 at most, its weights
# 2.1e-3 and the hazard's 5.2e-2 (gradient descent carries a small change of its input a
# long way), its probabilities 0.019 at most, and no text of the development sets changed
# category or hazard. Leaving one development text out moves the mean and spread 5.5e-4 or
# more: at DATA_PIN they pin the texts the category was fitted on, on any CPU. The readings
# below check the rest.
DATA_PIN = 1e-4
SAME_READING = 0.05


def test_the_shipped_file_is_the_fit_it_says(model: ModelTriage) -> None:
    about = json.loads(manifest_path(FITTED_PATH).read_text(encoding="utf-8"))
    shipped = load_fitted()
    np.testing.assert_array_equal(shipped.hazard.weights, model.hazard.weights)
    if about["corrections"] == 0:  # fitted on files of this repository alone: reproducible
        # With the encoder's products the manifest names: the served parameters were fitted
        # on float32 products, and are read with int8 ones (MODEL.md, "Ninth round").
        encoder = Encoder(int8_products=about["encoder_products"] == "int8")
        fitted = fit_classifiers(encoder)
        for part in ("category", "hazard"):
            assert getattr(fitted, part).classes == getattr(shipped, part).classes
        for name in ("mean", "scale"):
            np.testing.assert_allclose(
                getattr(fitted.category, name),
                getattr(shipped.category, name),
                rtol=0,
                atol=DATA_PIN,
                err_msg=f"category.{name}",
            )
        # Both classifiers read every development text as the shipped ones do.
        inputs = [item.as_input() for item in load_dev()]
        embeddings = encoder.encode([compose_text(item) for item in inputs])
        for part, rows in (("category", features(embeddings, inputs)), ("hazard", embeddings)):
            refitted = getattr(fitted, part).probabilities(rows)
            served = getattr(shipped, part).probabilities(rows)
            np.testing.assert_allclose(refitted, served, rtol=0, atol=SAME_READING, err_msg=part)
            np.testing.assert_array_equal(refitted.argmax(axis=1), served.argmax(axis=1))
        np.testing.assert_array_equal(
            hazard_probability(fitted.hazard, embeddings) >= HAZARD_THRESHOLD,
            hazard_probability(shipped.hazard, embeddings) >= HAZARD_THRESHOLD,
        )


def test_a_fitted_file_round_trips_and_a_changed_byte_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fitted.npz"
    shipped = load_fitted()
    digest = save_fitted(shipped, path, corrections=0)
    assert json.loads(manifest_path(path).read_text())["sha256"] == digest
    again = load_fitted(path)
    np.testing.assert_array_equal(again.category.bias, shipped.category.bias)
    assert again.hazard.classes == ("safe", "hazard")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError):
        load_fitted(path)


def test_not_worse_means_no_figure_worse() -> None:
    base = FrozenFigures(0.8, 0.7, 0.9, 0.05)
    assert base.not_worse_than(base)
    assert FrozenFigures(0.81, 0.7, 0.9, 0.04).not_worse_than(base)
    assert not FrozenFigures(0.9, 0.8, 0.95, 0.06).not_worse_than(base)
    assert not FrozenFigures(0.79, 0.8, 0.95, 0.01).not_worse_than(base)


def test_the_bar_of_two_readings_is_the_better_of_each_figure() -> None:
    now = FrozenFigures(0.8, 0.7, 0.95, 0.06)
    recorded = FrozenFigures(0.85, 0.65, 0.9, 0.05)
    assert now.best_of(recorded) == FrozenFigures(0.85, 0.7, 0.95, 0.05)


def test_figures_recorded_on_other_frozen_sets_are_no_yardstick(tmp_path: Path) -> None:
    path = tmp_path / "fitted.npz"
    figures = FrozenFigures(0.8, 0.7, 0.9, 0.05)
    other_sets = {"fresh_eval.jsonl": "0" * 64}
    save_fitted(load_fitted(), path, frozen_sets=other_sets, frozen_evaluation=asdict(figures))
    assert recorded_figures(path) is None
    save_fitted(
        load_fitted(), path, frozen_sets=frozen_set_digests(), frozen_evaluation=asdict(figures)
    )
    assert recorded_figures(path) == figures


def test_a_refit_must_also_beat_what_was_recorded_when_the_served_file_was_written(
    tmp_path: Path,
) -> None:
    # After a change of code the served parameters may read worse than they did when written
    # (a lower hazard threshold, say); what is served is what was recorded, so a candidate
    # judged only against the new reading could pass while being worse than what is served.
    path = tmp_path / "fitted.npz"
    flawless = FrozenFigures(1.0, 1.0, 1.0, 0.0)
    save_fitted(
        load_fitted(),
        path,
        corrections=0,
        frozen_sets=frozen_set_digests(),
        frozen_evaluation=asdict(flawless),
    )
    before = path.read_bytes()
    # The same fit as the served one: not worse than its reading now, but than the record.
    assert refit([], fitted_path=path) is False
    assert path.read_bytes() == before


def test_a_refit_that_gets_worse_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "fitted.npz"
    save_fitted(load_fitted(), path, corrections=0)
    before = path.read_bytes()
    # Poisoned corrections: every written hazard labelled as harmless praise.
    poisoned = [
        Correction(
            item=TriageInput(kind="review", text=e.text), category=Category.PRAISE, hazard=False
        )
        for e in load_descriptions()
        if e.hazard
    ]
    assert refit(poisoned, fitted_path=path) is False
    assert path.read_bytes() == before


def test_a_refit_that_is_not_worse_is_written(tmp_path: Path) -> None:
    # Served: the fit of this repository's files on what the served encoder reads, which a
    # refit with no correction makes again, so it is not worse.
    path = tmp_path / "fitted.npz"
    save_fitted(fit_classifiers(Encoder()), path, corrections=0)
    assert refit([], fitted_path=path) is True
    about = json.loads(manifest_path(path).read_text())
    assert about["corrections"] == 0
    assert about["frozen_sets"] == frozen_set_digests()
    assert set(about["frozen_evaluation"]) == {
        "category_accuracy",
        "category_macro_f1",
        "hazard_recall",
        "false_hazard_rate",
    }
    load_fitted(path)


async def test_the_latest_label_of_an_item_is_its_correction(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'feedback.db'}"
    db = Database(url)
    await db.create_all([metadata])
    now = datetime(2026, 11, 29, tzinfo=UTC)
    row = {
        "item_id": "item-1",
        "kind": "review",
        "text": "The strap slipped",
        "rating": 2,
        "severity": "critical",
        "labelled_by": "pm",
    }
    async with db.sessions.begin() as session:
        await session.execute(finding.insert(), [_finding(now)])
        await session.execute(feedback_item.insert(), [_item(now)])
        await session.execute(
            triage_label.insert(),
            [
                {**row, "id": "l1", "category": "other", "hazard": False, "labelled_at": now},
                {
                    **row,
                    "id": "l2",
                    "category": "defect",
                    "hazard": True,
                    "labelled_at": now + timedelta(minutes=1),
                },
            ],
        )
    await db.dispose()
    [correction] = await load_corrections(url)
    assert correction == Correction(
        item=TriageInput(kind="review", text="The strap slipped", rating=2),
        category=Category.DEFECT,
        hazard=True,
    )


def _finding(now: datetime) -> dict[str, Any]:
    return {
        "id": "finding-1",
        "product_id": "prod-1",
        "kind": "other",
        "severity": "low",
        "status": "open",
        "item_count": 1,
        "safety_hazard": False,
        "topic": "strap",
        "representative_quote": "The strap slipped",
        "representative_event_id": "ev-1",
        "representative_score": 1.0,
        "embedding_sum": b"",
        "regression": False,
        "first_seen": now,
        "last_seen": now,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _item(now: datetime) -> dict[str, Any]:
    return {
        "id": "item-1",
        "event_seq": 1,
        "event_id": "ev-1",
        "product_id": "prod-1",
        "kind": "review",
        "category": "other",
        "severity": "low",
        "sentiment": 0.0,
        "safety_hazard": False,
        "topic": "strap",
        "quote": "The strap slipped",
        "finding_id": "finding-1",
        "occurred_at": now,
        "triaged_at": now,
    }
